"""K-fold assignment by image, grouped by magazine title so no title sits on both sides."""

from __future__ import annotations

import random
from collections import defaultdict

from .errors import UserError


def title_of(stem: str) -> str:
    """The magazine title of a DESCAN-style stem `Title.page.crop`; a stem without a dot is
    its own group."""
    return stem.split(".", 1)[0]


def assign_folds(stems: list[str], k: int, seed: int = 0) -> dict[str, int]:
    """Map each stem to a fold in [0, k), keeping every title in one fold and the folds as
    even in image count as the titles allow (largest titles placed first, each into the fold
    with fewest images so far). Deterministic for a given seed."""
    if k < 2:
        raise UserError(f"prepare.folds: need at least 2 folds, got {k}")
    groups: dict[str, list[str]] = defaultdict(list)
    for stem in sorted(stems):
        groups[title_of(stem)].append(stem)
    if len(groups) < k:
        raise UserError(
            f"prepare.folds={k}: the training images carry only {len(groups)} title(s) "
            f"({', '.join(sorted(groups))}); folds are split by title, so use at most "
            f"{len(groups)} folds"
        )
    titles = sorted(groups)
    random.Random(seed).shuffle(titles)  # seed decides ties between titles of equal size
    titles.sort(key=lambda t: -len(groups[t]))
    sizes = [0] * k
    fold_of: dict[str, int] = {}
    for title in titles:
        fold = min(range(k), key=lambda f: (sizes[f], f))
        sizes[fold] += len(groups[title])
        for stem in groups[title]:
            fold_of[stem] = fold
    return fold_of
