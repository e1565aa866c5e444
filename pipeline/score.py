"""Stage 6: the leaderboard metric, for a submission file or for a whole experiment."""

from __future__ import annotations

from .core.config import cli
from .core.config.load import load_config
from .core.scoring.evaluation import interval_text
from .core.scoring.held_out import experiment_report, held_out_interval
from .core.task.submission import read_submission, score_files

DESCRIPTION = """\
  python -m pipeline.score SUBMISSION.csv TRUTH.csv
      Mean absolute error between the submitted and the true 'Y Channel Value', rows matched
      by 'Image File' (not by position), and its 95% interval (a bootstrap over the magazine
      titles the ids name, `Title.page.crop`, else over images). Missing, extra or duplicated
      ids are an error. The last line printed is the score alone.

  python -m pipeline.score [--config FILE] [key=value ...]
      The experiment's report: its CV score and 95% interval next to identity (from infer),
      and the score of submissions/<experiment>.csv against data.root/data.test_truth when
      that file exists, with its interval over the test images (as above).
      For task.kind other than descan (no submission CSV): the CV and the test predictions'
      PSNR and SSIM (sr: MATLAB Y, task.scale border; else RGB) next to the baseline's (the
      input unchanged, or MATLAB bicubic for sr) and the gain, against test/clean (or
      test/<sequence>/sharp) when the truth is there, as in the demos."""


def main(argv: list[str] | None = None) -> int:
    parser = cli.stage_parser("pipeline.score", DESCRIPTION)
    parser.usage = (
        "python -m pipeline.score SUBMISSION.csv TRUTH.csv\n"
        "       python -m pipeline.score [--config FILE] [key=value ...]"
    )
    args = parser.parse_args(argv)
    files = [a for a in args.overrides if "=" not in a]
    overrides = [a for a in args.overrides if "=" in a]
    if not files:
        experiment_report(load_config(args.config, overrides), say=print)
        return 0
    if len(files) != 2 or overrides:
        parser.error("expected SUBMISSION.csv TRUTH.csv, or only key=value overrides")
    score = score_files(files[0], files[1])
    truth = read_submission(files[1], True)
    interval = held_out_interval(read_submission(files[0]), truth).record()
    print(f"score: mean absolute error of mean Y over {len(truth)} images{interval_text(interval)}")
    print(repr(score))
    return 0


if __name__ == "__main__":
    cli.run(main)
