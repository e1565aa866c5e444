"""The baseline ladder: the cheap answers every experiment is held to, scored out of fold."""

from __future__ import annotations

from .core.config import cli
from .core.data.layout import data_path, held_out_inputs, open_store
from .core.runs.experiment import Experiment
from .core.scoring.ladder import RUNGS, ladder_of, predict_held_out
from .core.task.submission import (
    check_values,
    clamp_values,
    format_csv,
    leaderboard_score,
    read_submission,
)
from .core.task.task import Task
from .core.util.errors import UserError
from .core.util.files import write_text

DESCRIPTION = """\
Score the cheap answers on the same folds and with the same metric as the experiments:
  identity   the scans unchanged
  colormap   one least-squares affine colour map (scan RGB -> clean RGB, 12 numbers),
             fitted on each fold's training pairs
  regressor  a ridge regression of the clean mean Y from statistics of the scan (Y
             percentiles, chroma, RGB means), scikit-learn, strength by group CV over titles
Prints each one's CV (the leaderboard metric over all out-of-fold images), keeps it beside the
prepared store (ladder.json; `infer` and `leaderboard` show it next to every experiment), and
writes each one's submission for the test scans, fitted on all training pairs:
submissions/<experiment>-baseline-<rung>.csv, scored against data.test_truth when that
exists (the demo's). Seconds, not minutes. The descanning competition's ladder: other tasks
compare with their own baseline (the input, or bicubic) in every report."""


def main(argv: list[str] | None = None) -> int:
    _, cfg = cli.parse_config(cli.stage_parser("pipeline.baselines", DESCRIPTION), argv)
    if not Task.of(cfg).is_competition:
        raise UserError(
            f"task.kind: the ladder is the descanning competition's; {cfg.task.kind} reports "
            "its own baseline beside every score"
        )
    store = open_store(cfg)
    ladder = ladder_of(store)
    predicted = predict_held_out(store, held_out_inputs(cfg))
    truth_csv = data_path(cfg, "test_truth")
    truth = read_submission(truth_csv, extra_columns=True) if truth_csv.is_file() else None
    run = Experiment.of(cfg)
    n_test = len(predicted["identity"])
    print(f"baselines: {len(ladder['truth'])} training images out of fold, {n_test} test scans")
    for rung in RUNGS:
        values = clamp_values(predicted[rung])
        check_values(values, rung)
        target = run.baseline_submission(cfg.submissions, rung)
        write_text(target, format_csv(values))
        test = ""
        if truth is not None:
            test = f"   test {leaderboard_score(values, truth, str(target), str(truth_csv)):.4f}"
        print(f"  {rung:<10} CV {ladder['cv'][rung]:.4f}{test}   -> {target}")
    return 0


if __name__ == "__main__":
    cli.run(main)
