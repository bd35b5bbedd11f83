"""The crops file format shared with examples/export_crops.rs."""
import numpy as np
import pytest

from digitmodel import crops


def test_pool_and_crops_formats(tmp_path):
    imgs = np.arange(3 * 16 * 16, dtype=np.uint32).astype(np.uint8).reshape(3, 16, 16)
    crops.write_pool(tmp_path / "p.pool", imgs, np.array([1, 2, 3]))
    raw = (tmp_path / "p.pool").read_bytes()
    assert raw[:8] == crops.POOL_MAGIC and int.from_bytes(raw[8:12], "little") == 3 and int.from_bytes(raw[12:16], "little") == 16
    assert raw[16:19] == bytes([1, 2, 3]) and raw[19:] == imgs.tobytes()

    x = np.random.default_rng(0).integers(0, 256, (2, 28, 28), dtype=np.uint8)
    (tmp_path / "c.bin").write_bytes(crops.CROPS_MAGIC + (2).to_bytes(4, "little") + bytes([7, 10]) + x.tobytes())
    got_x, got_y = crops.read_crops(tmp_path / "c.bin")
    assert got_y.tolist() == [7, 10] and np.array_equal(got_x, x)


def test_truncated_crops_file_is_an_error(tmp_path):
    (tmp_path / "c.bin").write_bytes(crops.CROPS_MAGIC + (2).to_bytes(4, "little") + bytes([7, 10]) + bytes(784))
    with pytest.raises(ValueError, match="expected"):
        crops.read_crops(tmp_path / "c.bin")
    (tmp_path / "d.bin").write_bytes(b"nonsense")
    with pytest.raises(ValueError, match="not a crops file"):
        crops.read_crops(tmp_path / "d.bin")
