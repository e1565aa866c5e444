"""Pairing scans with their clean originals by file stem, checked before anything is written."""

from __future__ import annotations

from pathlib import Path

from .errors import UserError
from .imageio import image_size, list_images
from .store import Pair


def _names(stems: set[str]) -> str:
    shown = ", ".join(f"'{s}'" for s in sorted(stems)[:5])
    return shown + (f" and {len(stems) - 5} more" if len(stems) > 5 else "")


def pair_folders(scan_dir: str | Path, clean_dir: str | Path, scale: int = 1) -> list[Pair]:
    """Pairs sorted by stem. Every scan needs a clean image of the same stem and size
    (`scale` times the scan's size for super-resolution), and the other way round."""
    scans = list_images(scan_dir, "scans")
    cleans = list_images(clean_dir, "clean images")
    if scans.keys() - cleans.keys():
        raise UserError(
            f"{clean_dir}: no clean image for scan(s) {_names(scans.keys() - cleans.keys())}"
        )
    if cleans.keys() - scans.keys():
        raise UserError(
            f"{scan_dir}: no scan for clean image(s) {_names(cleans.keys() - scans.keys())}"
        )
    pairs = []
    for stem in sorted(scans):
        sh, sw = image_size(scans[stem])
        ch, cw = image_size(cleans[stem])
        if (ch, cw) != (sh * scale, sw * scale):
            expected = "the same size" if scale == 1 else f"{scale}x the scan's size"
            raise UserError(
                f"{scans[stem]}: scan is {sw}x{sh} but clean {cleans[stem].name} is {cw}x{ch} "
                f"(expected {expected})"
            )
        pairs.append(Pair(stem=stem, scan=scans[stem], clean=cleans[stem], height=sh, width=sw))
    return pairs
