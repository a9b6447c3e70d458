"""The offline loaders: the Fashion-MNIST IDX reader on small files and its errors."""

import gzip

import numpy as np
import pytest

from sklearn_lpntk.datasets import load_fashion_mnist, read_idx


def _write_idx(path, array, type_byte, compress):
    header = bytes([0, 0, type_byte, array.ndim]) + b"".join(
        int(s).to_bytes(4, "big") for s in array.shape
    )
    data = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    (gzip.open if compress else open)(path, "wb").write(data)


@pytest.mark.parametrize("compress", [True, False])
def test_fashion_mnist_reader_on_small_files(tmp_path, compress, monkeypatch):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(7, 28, 28)).astype(np.uint8)
    labels = rng.integers(0, 10, size=7).astype(np.uint8)
    ext = ".gz" if compress else ""
    _write_idx(tmp_path / f"t10k-images-idx3-ubyte{ext}", images, 0x08, compress)
    _write_idx(tmp_path / f"t10k-labels-idx1-ubyte{ext}", labels, 0x08, compress)
    X, y = load_fashion_mnist(tmp_path, subset="test", return_X_y=True)
    assert X.shape == (7, 784) and X.dtype == np.float32
    np.testing.assert_allclose(X * 255, images.reshape(7, -1))
    np.testing.assert_array_equal(y, labels)
    monkeypatch.setenv("SKLEARN_LPNTK_FASHION_MNIST", str(tmp_path))
    bunch = load_fashion_mnist(subset="test", as_images=True)
    assert bunch.data.shape == (7, 1, 28, 28) and len(bunch.target_names) == 10
    floats = rng.normal(size=(3, 2)).astype(np.float32)
    _write_idx(tmp_path / "f.idx", floats, 0x0D, False)
    np.testing.assert_array_equal(read_idx(tmp_path / "f.idx"), floats)


def test_fashion_mnist_errors_name_the_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match="apt-get install dataset-fashion-mnist"):
        load_fashion_mnist(tmp_path)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(b"nonsense")
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(b"nonsense")
    with pytest.raises(ValueError, match="not an IDX file"):
        load_fashion_mnist(tmp_path)
    truncated = bytes([0, 0, 8, 1]) + (10).to_bytes(4, "big") + bytes(3)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(truncated)
    with pytest.raises(ValueError, match="truncated"):
        read_idx(tmp_path / "train-labels-idx1-ubyte")
