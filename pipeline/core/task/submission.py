"""The submission CSV: writing it exactly as the leaderboard reads it, reading and scoring it."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from ..util.errors import UserError, first_names

ID_COLUMN = "Image File"
VALUE_COLUMN = "Y Channel Value"


def format_csv(values: dict[str, float], order: list[str] | None = None) -> str:
    """The CSV text: header, then one row per id, ids sorted unless `order` is given. Values
    keep every digit of the float (repr round-trips), so the file scores what was computed."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([ID_COLUMN, VALUE_COLUMN])
    for image_id in order if order is not None else sorted(values):
        writer.writerow([image_id, repr(float(values[image_id]))])
    return buf.getvalue()


def check_values(values: dict[str, float], where: str) -> None:
    for image_id, v in values.items():
        if not math.isfinite(v) or not 0.0 <= v <= 255.0:
            raise UserError(f"{where}: value for '{image_id}' is {v}, outside [0, 255]")


def clamp_values(values: dict[str, float]) -> dict[str, float]:
    """Each value held to [0, 255], the range of a mean Y: a regressor's or a blend's estimate
    may step outside it, which `check_values` (and the leaderboard) would refuse."""
    return {image_id: float(min(max(v, 0.0), 255.0)) for image_id, v in values.items()}


def read_submission(path: str | Path, extra_columns: bool = False) -> dict[str, float]:
    """Read an id -> value CSV in the official format, refusing anything the leaderboard would.

    `extra_columns=True` accepts columns beyond the two official ones (a truth file may carry a
    Usage column); they are ignored.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise UserError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as e:
        raise UserError(f"{path}: cannot read ({e})") from None
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise UserError(f"{path}: empty file")
    header = [h.strip() for h in rows[0]]
    if ID_COLUMN not in header or VALUE_COLUMN not in header:
        raise UserError(
            f"{path}: header must be '{ID_COLUMN},{VALUE_COLUMN}', got '{','.join(header)}'"
        )
    if not extra_columns and len(header) != 2:
        raise UserError(f"{path}: expected exactly 2 columns, got {len(header)}")
    id_col, value_col = header.index(ID_COLUMN), header.index(VALUE_COLUMN)
    values: dict[str, float] = {}
    for line_no, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        if len(row) != len(header):
            raise UserError(f"{path}: line {line_no} has {len(row)} fields, expected {len(header)}")
        image_id = row[id_col].strip()
        if image_id in values:
            raise UserError(f"{path}: duplicate id '{image_id}' on line {line_no}")
        try:
            value = float(row[value_col])
        except ValueError:
            raise UserError(f"{path}: line {line_no}: '{row[value_col]}' is not a number") from None
        values[image_id] = value
    if not values:
        raise UserError(f"{path}: no rows")
    check_values(values, str(path))
    return values


def check_same_ids(got: set[str], expected: set[str], got_name: str, expected_name: str) -> None:
    missing, extra = expected - got, got - expected
    if missing:
        raise UserError(
            f"{got_name}: missing {len(missing)} id(s) of {expected_name}: {first_names(missing)}"
        )
    if extra:
        raise UserError(
            f"{got_name}: {len(extra)} id(s) not in {expected_name}: {first_names(extra)}"
        )


def leaderboard_score(
    submission: dict[str, float],
    truth: dict[str, float],
    submission_name: str = "submission",
    truth_name: str = "truth",
) -> float:
    """Mean absolute error between submitted and true values, rows matched by id."""
    check_same_ids(set(submission), set(truth), submission_name, truth_name)
    return math.fsum(abs(submission[i] - truth[i]) for i in truth) / len(truth)


def score_files(submission_csv: str | Path, truth_csv: str | Path) -> float:
    """The leaderboard metric of a submission CSV against a truth CSV (which may carry more
    columns), rows matched by id."""
    submission = read_submission(submission_csv)
    truth = read_submission(truth_csv, extra_columns=True)
    return leaderboard_score(submission, truth, str(submission_csv), str(truth_csv))
