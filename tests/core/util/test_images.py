"""The one conversion of float images to uint8 (as saved), and how messages name a list."""

from __future__ import annotations

import numpy as np

from pipeline.core.util.errors import first_names
from pipeline.core.util.images import to_uint8


def test_to_uint8_rounds_ties_to_even_and_saturates():
    x = np.array([-3.0, 0.5, 1.5, 2.5, 254.49, 254.5, 255.5, 300.0])
    assert to_uint8(x).tolist() == [0, 0, 2, 2, 254, 254, 255, 255]
    assert to_uint8(x).dtype == np.uint8


def test_to_uint8_scales_unit_floats_as_the_simulator_saves_them():
    x = np.array([[-0.1, 0.0, 0.5 / 255, 1.5 / 255, 0.5, 1.0, 1.2]], np.float32)
    assert to_uint8(x, 255.0).tolist() == [[0, 0, 0, 2, 128, 255, 255]]
    # float32 in, the same bytes as OpenCV's saturating conversion (which the simulator used)
    import cv2

    rng = np.random.default_rng(0)
    page = rng.random((16, 16, 3), dtype=np.float32) * 1.2 - 0.1
    expected = cv2.convertScaleAbs(np.maximum(page, 0.0), alpha=255.0)
    assert np.array_equal(to_uint8(page, 255.0), expected)


def test_first_names_shows_five_sorted_and_counts_the_rest():
    assert first_names({"b", "a"}) == "'a', 'b'"
    assert first_names([f"p{i}" for i in range(7, 0, -1)]) == (
        "'p1', 'p2', 'p3', 'p4', 'p5' and 2 more"
    )
