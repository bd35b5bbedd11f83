import numpy as np

from digitmodel.normalize import CORE_LEVEL, normalize, thicken_hairline


def core_width(out):
    """Mean width of the core's horizontal runs (for upright strokes)."""
    core = out >= CORE_LEVEL
    rows = [r for r in core if r.any()]
    return float(np.mean([r.sum() for r in rows]))


def test_a_thin_pens_one_gets_a_pens_width():
    crop = np.zeros((110, 40), np.uint8)
    crop[:, 19:21] = 200  # 2 px of a 110 px tall digit: under half a pixel in the 20x20 box
    out = normalize(crop)
    assert core_width(out) >= 2.5
    assert out.max() == 255


def test_a_stroke_as_wide_as_mnists_is_left_alone():
    crop = np.zeros((100, 40), np.uint8)
    crop[:, 15:30] = 200  # 3 px wide in the 20x20 box
    out = normalize(crop)
    assert core_width(out) == 3.0 and (out > 0).sum() == 60


def test_nothing_to_grow_in_a_blank_box():
    assert thicken_hairline(np.zeros((22, 22), np.int64)) is None
