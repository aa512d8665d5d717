"""The VU variant's data: MNIST from its IDX files (downloaded with torchvision's utilities) and VU's two-feature
synthetic set, both as cifar10_utils.DataSet splits."""
import os

import numpy as np

from cifar10_utils import DataError, DataSet, dense_to_one_hot, folders_to_make, make_splits, remove_if_empty

MNIST_FILES = {'train': ('train-images-idx3-ubyte', 'train-labels-idx1-ubyte'),
               'test': ('t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte')}


def load_idx(path, ndim):
    """An IDX file of unsigned bytes, MNIST's format: the magic number 0x0800 + ndim, ndim big-endian
    32-bit sizes, then the values. Returns a uint8 array of those sizes; DataError names a bad file."""
    try:
        with open(path, 'rb') as f:
            data = f.read()
    except FileNotFoundError:
        raise DataError(f'missing MNIST file {path}') from None
    header = 4 * (1 + ndim)
    magic = int.from_bytes(data[:4], 'big')
    shape = tuple(int.from_bytes(data[4 * i:4 * i + 4], 'big') for i in range(1, ndim + 1))
    if len(data) < header or magic != 0x800 + ndim or len(data) != header + int(np.prod(shape)):
        raise DataError(f'corrupt MNIST file {path}: expected an IDX file of {ndim}-d unsigned bytes '
                        f'(magic {0x800 + ndim}), got magic {magic}, sizes {shape} and {len(data)} bytes')
    return np.frombuffer(data, np.uint8, offset=header).reshape(shape)


def load_mnist_raw(data_dir):
    """Return (train_images, train_labels, test_images, test_labels): (N, 1, 28, 28) uint8, (N,) int64."""
    arrays = []
    for images_file, labels_file in MNIST_FILES.values():
        images = load_idx(os.path.join(data_dir, images_file), 3)
        labels = load_idx(os.path.join(data_dir, labels_file), 1).astype(np.int64)
        if images.shape[1:] != (28, 28):
            raise DataError(f'corrupt MNIST file {os.path.join(data_dir, images_file)}: images of '
                            f'{images.shape[1]}x{images.shape[2]} pixels, expected 28x28')
        if len(images) != len(labels) or labels.max(initial=0) > 9:
            raise DataError(f'corrupt MNIST files in {data_dir}: {len(images)} images in {images_file}, '
                            f'{len(labels)} labels up to {labels.max(initial=0)} in {labels_file}')
        arrays += [images[:, None], labels]
    return tuple(arrays)


def download_mnist(data_dir):
    """Fetch the four MNIST files with torchvision's utilities (MD5 checked) and unpack them into data_dir."""
    from torchvision.datasets import MNIST
    from torchvision.datasets.utils import download_and_extract_archive
    made = folders_to_make(data_dir)
    for filename, md5 in MNIST.resources:
        for mirror in MNIST.mirrors:
            try:
                download_and_extract_archive(mirror + filename, data_dir, filename=filename, md5=md5)
                break
            except Exception as error:  # no network, HTTP error, bad checksum: try the next mirror
                failure = error
        else:
            remove_if_empty(made)
            raise DataError(
                f'MNIST is not in {data_dir} and downloading {filename} failed ({failure}). Put the four MNIST '
                f'files there ({", ".join(sum(MNIST_FILES.values(), ()))}) or use --dataset synth for an '
                f'offline run.')


def get_mnist(data_dir='mnist', one_hot=True, validation_size=0, preprocess='standardize', download=False, seed=0):
    """MNIST from the IDX files in data_dir, as {'train', 'validation', 'test'} DataSets of (N, 1, 28, 28) images.

    With download=True missing files are fetched first (see download_mnist).
    """
    if not all(os.path.exists(os.path.join(data_dir, name)) for name in sum(MNIST_FILES.values(), ())):
        if not download:
            raise DataError(f'MNIST files are missing from {data_dir}')
        download_mnist(data_dir)
    return make_splits(*load_mnist_raw(data_dir), one_hot=one_hot, validation_size=validation_size,
                       preprocess_method=preprocess, seed=seed)


SYNTH_QUADRATIC_FORM = np.array([[1, 0.5], [1, 0.2]])
SYNTH_THRESHOLD = 0.6
SYNTH_CLASSES = 2


def synth_points(n, rng):
    """n points of VU's synthetic data: x ~ N(0, I) in the plane, class 1 where x^T Q x > 0.6, else 0.

    Returns x (n, 2) float32 and labels (n,) int64. x^T Q x is x^T S x with S = (Q + Q^T) / 2, which has
    eigenvalues of both signs, so the boundary is a hyperbola, not an ellipse.
    """
    x = rng.standard_normal((n, 2))
    labels = np.einsum('bi,ij,bj->b', x, SYNTH_QUADRATIC_FORM, x) > SYNTH_THRESHOLD
    return x.astype(np.float32), labels.astype(np.int64)


def load_synth(num_train=60_000, num_val=10_000, seed=0):
    """VU's synth set as vugrad's load_synth returns it: ((x_train, y_train), (x_val, y_val), number of classes),
    x (n, 2) float32 and y (n,) int64, the points drawn from seed."""
    splits = get_synth(num_train=num_train, validation_size=num_val, num_test=0, one_hot=False, data_seed=seed)
    train, validation = splits['train'], splits['validation']
    return (train.images, train.labels), (validation.images, validation.labels), SYNTH_CLASSES


def get_synth(num_train=60_000, validation_size=10_000, num_test=10_000, one_hot=True, seed=0, data_seed=0):
    """VU's two-feature synthetic set as {'train', 'validation', 'test'} DataSets, features as drawn (no preprocessing).

    The points come from data_seed alone, so the same points whatever `seed` (which orders the batches).
    """
    if not 0 <= validation_size <= num_train:
        raise ValueError(f'--validation_size {validation_size} is more points than synth draws for training '
                         f'({num_train:,}); expected at most that many')
    rng = np.random.default_rng(data_seed)
    encode = (lambda labels: dense_to_one_hot(labels, SYNTH_CLASSES)) if one_hot else (lambda labels: labels)
    splits = {}
    for offset, (name, size) in enumerate((('train', num_train), ('validation', validation_size), ('test', num_test))):
        x, labels = synth_points(size, rng)
        splits[name] = DataSet(x, encode(labels), seed=seed + offset)
    return splits
