"""Sending a submission to a Kaggle competition, what `submit` does: the CSV checked as the
leaderboard would read it, then sent with the `kaggle` client (where it finds credentials, the
message naming the experiment), or the command a user can run instead."""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable
from pathlib import Path

from omegaconf import DictConfig

from ..runs.experiment import Experiment
from ..runs.tracking import git_commit
from ..task.submission import read_submission
from ..util.errors import UserError
from .held_out import check_test_ids


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


def check_submission(cfg: DictConfig, csv_path: Path) -> int:
    """Everything the leaderboard would refuse, as a UserError; returns the row count."""
    values = read_submission(csv_path)
    check_test_ids(cfg, set(values), str(csv_path))
    return len(values)


def submit_to_kaggle(
    cfg: DictConfig, csv_path: Path, message: str | None, dry_run: bool, say: Callable[[str], None]
) -> None:
    """What `submit` does: `csv_path` checked as the leaderboard would, then sent to the
    competition kaggle.competition with `message` (default: `default_message`), or, with
    `dry_run` or no credentials, the command to send it printed; `say` gets each line."""
    rows = check_submission(cfg, csv_path)
    say(f"submit: {csv_path} is a valid submission ({rows} rows)")
    if not cfg.kaggle.competition:
        raise UserError(
            "kaggle.competition: not set; add kaggle.competition=SLUG "
            "(the last part of the competition's URL) to submit"
        )
    message = message or default_message(cfg)
    command = shlex.join(submit_command(csv_path, cfg.kaggle.competition, message))
    credentials = kaggle_credentials()
    if dry_run or credentials is None:
        reason = "--dry-run" if dry_run else "no Kaggle credentials found (see --help)"
        say(f"submit: {reason}; to submit, run:\n{command}")
        return
    say(f"submit: sending to Kaggle with credentials from {credentials}: {command}")
    say(f"submit: kaggle says: {kaggle_submit(csv_path, cfg.kaggle.competition, message)}")
