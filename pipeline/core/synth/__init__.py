"""A print-scan simulator: synthetic scans of clean pages, for demo data, pretraining and
online augmentation.

    ranges = make_ranges("magazine")                  # or PRESETS[...], or Ranges(...)
    params = sample_params(ranges, rng)               # one scan's settings
    scan = simulate_scan(clean, params, rng, back)    # HxWx3 uint8 RGB in and out

It models the six kinds of degradation found in real scans (DESCAN-18K): halftone (CMYK dot
screens), colour transition, bleed-through, texture distortion, external noise (dust, hairs,
stains) and internal noise (scanner lines, banding), plus the scanner's optics and sensor and
the small misregistration between a scan and its original.
"""

from .params import LIMITS, PRESETS, Ranges, ScanParams, check_setting, make_ranges, sample_params
from .scan import simulate_scan

# Bump when a change alters the scans a seed gives: demo data made before is then rebuilt.
SIMULATOR_VERSION = 2

__all__ = [
    "LIMITS",
    "PRESETS",
    "SIMULATOR_VERSION",
    "Ranges",
    "ScanParams",
    "check_setting",
    "make_ranges",
    "sample_params",
    "simulate_scan",
]
