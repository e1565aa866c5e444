"""Optional last step: check a submission CSV and send it to Kaggle, or say how to."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from omegaconf import DictConfig

from .core.config import cli
from .core.config.load import load_config
from .core.runs.experiment import Experiment, submission_path
from .core.runs.tracking import git_commit
from .core.scoring.held_out import check_test_ids
from .core.task.submission import read_submission
from .core.util.errors import UserError

DESCRIPTION = """\
Check the submission CSV as the leaderboard would read it (header, one finite value in
[0, 255] per id, no duplicates; the ids of data.sample_submission, or of the test scans under
data.root when that folder exists), then submit it to the Kaggle competition named by
kaggle.competition with a message naming the experiment and its CV.

  python -m pipeline.submit kaggle.competition=SLUG            submissions/<experiment>.csv
  python -m pipeline.submit FILE.csv kaggle.competition=SLUG   another file

With Kaggle credentials (KAGGLE_API_TOKEN or KAGGLE_USERNAME and KAGGLE_KEY in the
environment, or ~/.kaggle/kaggle.json or ~/.kaggle/access_token) it submits with the `kaggle`
client; without them, or with --dry-run, it prints the exact `kaggle competitions submit`
command to run instead. Needs the network only to submit."""


def kaggle_credentials() -> str | None:
    """Where the kaggle client will find credentials, or None; looked up without the network,
    in the places the client itself reads."""
    env = os.environ
    if env.get("KAGGLE_API_TOKEN"):
        return "KAGGLE_API_TOKEN"
    if env.get("KAGGLE_USERNAME") and env.get("KAGGLE_KEY"):
        return "KAGGLE_USERNAME and KAGGLE_KEY"
    home = Path.home()
    config_dirs = [Path(env["KAGGLE_CONFIG_DIR"])] if env.get("KAGGLE_CONFIG_DIR") else []
    config_dirs += [home / ".kaggle", Path(env.get("XDG_CONFIG_HOME", home / ".config")) / "kaggle"]
    candidates = [d / "kaggle.json" for d in config_dirs]
    candidates += [home / ".kaggle" / "access_token", home / ".kaggle" / "access_token.txt"]
    return next((str(p) for p in candidates if p.is_file()), None)


def default_message(cfg: DictConfig) -> str:
    """The experiment, its CV when infer has scored it, the model and the commit."""
    cv = Experiment.of(cfg).read_cv()
    score = f"CV {cv['cv']:.4f} (folds ± {cv['fold_std']:.4f})" if cv else "no CV"
    commit = git_commit()
    return f"{cfg.experiment}: {score}, {cfg.model.name}" + (f" @ {commit}" if commit else "")


def submit_command(csv_path: Path, competition: str, message: str) -> list[str]:
    return [
        "kaggle",
        "competitions",
        "submit",
        "-c",
        competition,
        "-f",
        str(csv_path),
        "-m",
        message,
    ]


def check_submission(cfg: DictConfig, csv_path: Path) -> int:
    """Everything the leaderboard would refuse, as a UserError; returns the row count."""
    values = read_submission(csv_path)
    check_test_ids(cfg, set(values), str(csv_path))
    return len(values)


def kaggle_submit(csv_path: Path, competition: str, message: str) -> str:
    """Submit through the kaggle client; returns its reply."""
    # Imported here: `import kaggle` authenticates at once, and only this path needs it.
    from kaggle.api.kaggle_api_extended import KaggleApi

    api = KaggleApi()
    try:
        api.authenticate()
        reply = api.competition_submit(str(csv_path), message, competition)
    except SystemExit:  # the client exits when it rejects the credentials
        raise UserError("kaggle: the credentials were refused; check them") from None
    except Exception as e:  # network, HTTP and client errors alike
        raise UserError(f"kaggle: submitting to '{competition}' failed ({e})") from None
    return str(getattr(reply, "message", "") or reply)


def main(argv: list[str] | None = None) -> int:
    parser = cli.stage_parser("pipeline.submit", DESCRIPTION)
    parser.usage = (
        "python -m pipeline.submit [FILE.csv] [--config FILE] [-m MESSAGE] [--dry-run] "
        "[key=value ...]"
    )
    parser.add_argument(
        "-m", "--message", help="submission message (default: experiment, CV, model, commit)"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="check and print the command, even with credentials"
    )
    args = parser.parse_args(argv)
    files = [a for a in args.overrides if "=" not in a]
    if len(files) > 1:
        parser.error(f"expected at most one submission file, got {' '.join(files)}")
    cfg = load_config(args.config, [a for a in args.overrides if "=" in a])
    csv_path = Path(files[0]) if files else submission_path(cfg)
    rows = check_submission(cfg, csv_path)
    print(f"submit: {csv_path} is a valid submission ({rows} rows)")
    if not cfg.kaggle.competition:
        raise UserError(
            "kaggle.competition: not set; add kaggle.competition=SLUG "
            "(the last part of the competition's URL) to submit"
        )
    message = args.message or default_message(cfg)
    command = shlex.join(submit_command(csv_path, cfg.kaggle.competition, message))
    credentials = kaggle_credentials()
    if args.dry_run or credentials is None:
        reason = "--dry-run" if args.dry_run else "no Kaggle credentials found (see --help)"
        print(f"submit: {reason}; to submit, run:\n{command}")
        return 0
    print(f"submit: sending to Kaggle with credentials from {credentials}: {command}")
    print(f"submit: kaggle says: {kaggle_submit(csv_path, cfg.kaggle.competition, message)}")
    return 0


if __name__ == "__main__":
    cli.run(main)
