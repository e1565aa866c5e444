"""K-fold assignment by image, grouped by magazine title so no title sits on both sides."""

from __future__ import annotations

import random
from collections import defaultdict

from ..util.errors import UserError, first_names

GROUPINGS = ("auto", "title", "image")


def title_of(stem: str) -> str:
    """The magazine title of a DESCAN-style stem `Title.page.crop`; a stem without a dot is
    its own group."""
    return stem.split(".", 1)[0]


def grouping(stems: list[str], k: int, group: str = "auto") -> str:
    """What the folds split by: "title" or "image". `auto` takes titles when the names carry
    at least k of them and single images otherwise (a dataset of one or two titles)."""
    if group not in GROUPINGS:
        raise UserError(f"prepare.group: expected {', '.join(GROUPINGS)}, got '{group}'")
    if group != "auto":
        return group
    return "title" if len({title_of(s) for s in stems}) >= k else "image"


def assign_folds(stems: list[str], k: int, seed: int = 0, group: str = "title") -> dict[str, int]:
    """Map each stem to a fold in [0, k), keeping every group (a title, or a single image with
    group="image") in one fold and the folds as even in image count as the groups allow (largest
    groups placed first, each into the fold with fewest images so far). Deterministic for a
    given seed."""
    if k < 2:
        raise UserError(f"prepare.folds: need at least 2 folds, got {k}")
    key = title_of if grouping(stems, k, group) == "title" else (lambda stem: stem)
    groups: dict[str, list[str]] = defaultdict(list)
    for stem in sorted(stems):
        groups[key(stem)].append(stem)
    if len(groups) < k:
        what = "image(s)" if key is not title_of else "title(s)"
        raise UserError(
            f"prepare.folds={k}: the training set has only {len(groups)} {what} "
            f"({first_names(groups)}); use at most {len(groups)} folds"
        )
    names = sorted(groups)
    random.Random(seed).shuffle(names)  # seed decides ties between groups of equal size
    names.sort(key=lambda g: -len(groups[g]))
    sizes = [0] * k
    fold_of: dict[str, int] = {}
    for name in names:
        fold = min(range(k), key=lambda f: (sizes[f], f))
        sizes[fold] += len(groups[name])
        for stem in groups[name]:
            fold_of[stem] = fold
    return fold_of
