"""Offline dataset loaders: read files already on this machine, never download.

:func:`load_fashion_mnist` reads the four IDX files of Fashion-MNIST (Xiao,
Rasul and Vollgraf, 2017; 60,000 training and 10,000 test 28x28 grey images of
ten clothing classes). On Debian and Ubuntu they come with the package
``dataset-fashion-mnist``. :func:`plant_near_duplicates` makes data of known
redundancy from any rows, with the copies made by :func:`perturb`.
"""

import gzip
import os
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from ._copies import check_perturbation, perturb, plant_copies

__all__ = ["load_fashion_mnist", "perturb", "plant_near_duplicates", "read_idx"]

#: Where Debian's ``dataset-fashion-mnist`` package puts the files.
DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
#: Environment variable naming a folder that holds the files.
FASHION_MNIST_ENV = "SKLEARN_LPNTK_FASHION_MNIST"
FASHION_MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
FASHION_MNIST_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)

_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path):
    """Read one IDX file (optionally gzip-compressed) into a NumPy array.

    The format: two zero bytes, a type byte, the number of dimensions, one
    big-endian 32-bit size per dimension, then the values in C order.

    Parameters
    ----------
    path : str or Path
        The file; a name ending in ``.gz`` is decompressed.

    Returns
    -------
    array : ndarray
        Of the file's shape and type (big-endian values converted).
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_TYPES:
        raise ValueError(f"{path} is not an IDX file (bad magic number {data[:4]!r}).")
    ndim = data[3]
    header = 4 + 4 * ndim
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_IDX_TYPES[data[2]])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(data) - header != expected:
        raise ValueError(
            f"{path} is truncated or corrupt: the header announces shape "
            f"{shape} ({expected} bytes) but {len(data) - header} follow."
        )
    return (
        np.frombuffer(data, dtype=dtype, offset=header)
        .reshape(shape)
        .astype(dtype.newbyteorder("="))
    )


def _find(folder, stem):
    for name in (stem + ".gz", stem):
        if (folder / name).is_file():
            return folder / name
    return None


def load_fashion_mnist(data_home=None, *, subset="train", return_X_y=False, as_images=False):
    """Load Fashion-MNIST from local IDX files.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Folder holding the IDX files (gzip-compressed or not). None: the
        folder named by the environment variable
        ``SKLEARN_LPNTK_FASHION_MNIST``, else Debian's
        ``/usr/share/datasets/fashion-mnist``.
    subset : {"train", "test"}, default="train"
        The 60,000 training or the 10,000 test images.
    return_X_y : bool, default=False
        Return ``(X, y)`` instead of a Bunch.
    as_images : bool, default=False
        X of shape (n, 1, 28, 28) (for a CNN) instead of (n, 784).

    Returns
    -------
    data : Bunch with ``data`` (float32 in [0, 1]), ``target`` (int64),
        ``target_names`` and ``DESCR``; or ``(X, y)``.

    Raises
    ------
    FileNotFoundError
        When the files are not there, naming the folders searched and how to
        install them. Nothing is ever downloaded.
    """
    if subset not in FASHION_MNIST_FILES:
        raise ValueError(f"subset must be 'train' or 'test', got {subset!r}.")
    if data_home is not None:
        folders = [Path(data_home)]
    elif os.environ.get(FASHION_MNIST_ENV):
        folders = [Path(os.environ[FASHION_MNIST_ENV])]
    else:
        folders = [DEBIAN_FASHION_MNIST]
    images_stem, labels_stem = FASHION_MNIST_FILES[subset]
    for folder in folders:
        images, labels = _find(folder, images_stem), _find(folder, labels_stem)
        if images is not None and labels is not None:
            break
    else:
        raise FileNotFoundError(
            f"Fashion-MNIST {subset} files ({images_stem}[.gz], {labels_stem}[.gz]) were not "
            f"found in {', '.join(str(f) for f in folders)}. Install them with "
            "`apt-get install dataset-fashion-mnist` (Debian/Ubuntu), or put the four IDX "
            f"files in a folder and pass data_home= or set {FASHION_MNIST_ENV}. This "
            "loader never downloads."
        )
    X = read_idx(images)
    y = read_idx(labels).astype(np.int64)
    if X.ndim != 3 or y.ndim != 1 or len(X) != len(y):
        raise ValueError(
            f"{images} and {labels} do not hold matching images "
            f"(shape {X.shape}) and labels (shape {y.shape})."
        )
    X = X.astype(np.float32) / 255.0
    X = X[:, None] if as_images else X.reshape(len(X), -1)
    if return_X_y:
        return X, y
    return Bunch(
        data=X,
        target=y,
        target_names=np.array(FASHION_MNIST_CLASSES),
        DESCR=f"Fashion-MNIST {subset} set read from {images.parent}.",
    )


def plant_near_duplicates(
    X, y, *, share=0.3, n_copies=3, perturbation="noise", scale=None, random_state=None
):
    """Data with known redundancy: perturbed copies of a random share of each class.

    Parameters
    ----------
    X : ndarray of shape (n_samples, ...)
        Rows (tabular, signals of shape ``(n, 1, L)`` or images of shape
        ``(n, 1, H, W)``). Not modified.
    y : array of shape (n_samples,)
        Labels; copies keep their original's label.
    share : float in [0, 1], default=0.3
        Fraction of every class that gets copies.
    n_copies : int, default=3
        Copies of each chosen row.
    perturbation : {"noise", "shift", "flip"} or callable, default="noise"
        "noise": Gaussian noise of ``scale`` (0.05) feature standard deviations;
        "shift": moved by up to ``scale`` (1) positions along the last two axes
        longer than one, zero filled; "flip": mirrored along the last axis; a
        callable ``f(X, rng)`` returns perturbed rows of the same shape.
    scale : float or None, default=None
        Size of the perturbation (see above).
    random_state : int, Generator or None, default=None
        Which rows are copied and the perturbations' draws.

    Returns
    -------
    X_planted, y_planted : ndarrays
        The original rows, in their order, followed by the copies.
    groups : ndarray of int
        For every row, the index into ``X`` of its original (itself for an
        original), as read by ``sklearn_lpntk.analysis.copy_retrieval`` and
        ``distinct_share``.
    """
    check_perturbation(perturbation)
    return plant_copies(
        X,
        y,
        share=share,
        n_copies=n_copies,
        kind=perturbation,
        scale=scale,
        random_state=random_state,
    )
