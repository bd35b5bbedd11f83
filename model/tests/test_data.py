"""Data loaders, checksum checks and the firmware normalisation (numpy only, no torch)."""
import gzip
import shutil
import struct
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from digitmodel import data, normalize  # noqa: E402


def test_mnist_test_split_loads_and_is_verified():
    x, y = data.load_mnist("test")
    assert x.shape == (10000, 28, 28) and x.dtype == np.uint8
    assert np.bincount(y).tolist()[:2] == [980, 1135]


def test_usps_test_split_loads_ink_bright():
    x, y = data.load_usps("test")
    assert x.shape == (2007, 16, 16)
    assert len(np.unique(y)) == 10
    # Background is -1 in the file, i.e. 0 here: most pixels are background.
    assert (x == 0).mean() > 0.5


def _copy_dataset(tmp_path: Path, which: str) -> Path:
    dst = tmp_path / which
    shutil.copytree(data.data_dir() / which, dst)
    for p in dst.iterdir():
        p.chmod(0o644)
    return tmp_path


def test_corrupt_file_is_named(tmp_path):
    root = _copy_dataset(tmp_path, "usps")
    target = root / "usps" / "zip.test.gz"
    raw = bytearray(target.read_bytes())
    raw[100] ^= 0xFF
    target.write_bytes(bytes(raw))
    with pytest.raises(data.DataError, match="zip.test.gz is corrupt"):
        data.load_usps("test", root)


def test_missing_file_is_named(tmp_path):
    root = _copy_dataset(tmp_path, "usps")
    (root / "usps" / "zip.test.gz").unlink()
    with pytest.raises(data.DataError, match="zip.test.gz is missing"):
        data.load_usps("test", root)


def test_missing_checksum_list_is_an_error(tmp_path):
    root = _copy_dataset(tmp_path, "usps")
    (root / "usps" / "SHA256SUMS").unlink()
    with pytest.raises(data.DataError, match="SHA256SUMS is missing"):
        data.load_usps("test", root)


def test_idx_header_errors():
    bad_magic = struct.pack(">HBBI", 0, 0x0D, 1, 3) + b"abc"
    with pytest.raises(data.DataError, match="not an idx file"):
        data.parse_idx(bad_magic, Path("x.idx"), 1)
    short = struct.pack(">HBBI", 0, 0x08, 1, 5) + b"abc"
    with pytest.raises(data.DataError, match="header says 5 bytes"):
        data.parse_idx(short, Path("x.idx"), 1)
    ok = struct.pack(">HBBII", 0, 0x08, 2, 2, 2) + bytes([1, 2, 3, 4])
    assert data.parse_idx(ok, Path("x.idx"), 2).tolist() == [[1, 2], [3, 4]]


def test_usps_row_errors():
    with pytest.raises(data.DataError, match=":1: expected a label and 256 values"):
        data.parse_usps("3 1 2 3\n", Path("u.txt"))
    with pytest.raises(data.DataError, match="is not a digit"):
        data.parse_usps("12 " + " ".join(["-1"] * 256), Path("u.txt"))
    x, y = data.parse_usps("7.0000 " + " ".join(["1"] * 256), Path("u.txt"))
    assert y.tolist() == [7] and x.max() == 255


def test_validation_split_is_disjoint_and_deterministic():
    a_tr, a_va = data.split_validation(1000, 0.1, 3)
    b_tr, b_va = data.split_validation(1000, 0.1, 3)
    assert len(a_va) == 100 and not set(a_tr) & set(a_va)
    assert (a_va == b_va).all()


def _com(img):
    ys, xs = np.mgrid[0:28, 0:28]
    m = img.astype(float).sum()
    return (xs * img).sum() / m, (ys * img).sum() / m


def test_normalisation_fits_20_box_and_centres_mass():
    x, _ = data.load_mnist("test")
    for img in x[:200]:
        out = normalize.renormalize(img)
        ys, xs = np.nonzero(out)
        # 22: a hairline digit, grown by a pixel on each side (`thicken_hairlines`).
        extent = max(ys.max() - ys.min(), xs.max() - xs.min()) + 1
        assert extent in (20, 22)
        cx, cy = _com(out)
        assert abs(cx - 14) <= 0.5 and abs(cy - 14) <= 0.5
        assert out.max() == 255


def test_normalisation_keeps_aspect_and_handles_degenerate_crops():
    assert normalize.fitted_size(100, 50) == (20, 10)
    assert normalize.fitted_size(3, 300) == (1, 20)
    assert normalize.normalize(np.zeros((0, 5), np.uint8)) is None
    assert normalize.normalize(np.zeros((4, 4), np.uint8)) is None
    one = normalize.normalize(np.full((1, 1), 9, np.uint8))
    assert one is not None and (one == 255).sum() == 400


def test_area_averaging_is_exact():
    # A 40x40 checkerboard of 2x2 cells averages to exactly half intensity everywhere.
    board = (np.indices((40, 40)).sum(0) // 1 % 2 * 200).astype(np.uint8)
    out = normalize.normalize(board)
    vals = np.unique(out[out > 0])
    assert vals.tolist() == [255]  # uniform 100 stretched to the 255 peak


def test_matches_the_firmware_reference_vectors():
    """tests/data/normalize_vectors.json is the shared contract: the firmware's Rust normaliser is
    tested against the same file (tests/normalize_contract.rs), so both sides agree byte for byte."""
    import json
    path = Path(__file__).resolve().parents[2] / "tests" / "data" / "normalize_vectors.json"
    for case in json.loads(path.read_text()):
        crop = np.array(case["crop"], np.uint8).reshape(case["h"], case["w"])
        out = normalize.normalize(crop)
        expected = case["out"]
        assert (out is None and expected is None) or out.ravel().tolist() == expected, case["name"]


def test_validation_index_files_match_the_pipeline_split(tmp_path):
    from digitmodel import splits

    mnist_file, usps_file = splits.write_validation_indices(tmp_path)
    mnist_val = np.array([int(line) for line in mnist_file.read_text().split()])
    usps_val = np.array([int(line) for line in usps_file.read_text().split()])
    (mnist_train, expected_mnist), (usps_train, expected_usps) = data.pipeline_splits(60000, 7291)
    assert len(mnist_val) == 5000 and len(usps_val) == 729
    assert np.array_equal(mnist_val, expected_mnist) and np.array_equal(usps_val, expected_usps)
    # Held out: no validation digit is a training digit.
    assert not set(mnist_val) & set(mnist_train) and not set(usps_val) & set(usps_train)
