"""CIFAR-10 in the official python layout, and a synthetic twin with the same interface.

    data = load_cifar10('cifar10/cifar-10-batches-py')   # get_cifar10, as the UvA 2018-2020 templates call it
    x, t = data['train'].next_batch(200)   # x: (200, 3, 32, 32) float32, t: (200, 10) one-hot float32

Every split is a `DataSet`; preprocessing subtracts the mean image of the training split (the course's choice) or
standardises each channel (`preprocess='standardize'`). The synthetic twin (`get_synthetic`) is the dataset the
scripts call fake_cifar10.
"""
import functools
import io
import os
import pickle

import numpy as np

CIFAR10_FOLDER = 'cifar-10-batches-py'
TRAIN_FILES = [f'data_batch_{i}' for i in range(1, 6)]
TEST_FILE = 'test_batch'
FILES = TRAIN_FILES + [TEST_FILE]  # in the order a run's fingerprint of the data reads them
CLASSES = ('airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck')
IMAGE_SHAPE = (3, 32, 32)
IMAGE_VALUES = 3 * 32 * 32
BATCH_IMAGES = 10000  # images in an official batch file, the most a batch file may hold
# A batch file holds 30.7 MB of pixels and a few hundred KB of labels and names: twice the pixels is ample.
MAX_FILE_BYTES = 2 * BATCH_IMAGES * IMAGE_VALUES
PREPROCESSING = ('mean_image', 'standardize')


class DataError(RuntimeError):
    """The data is missing, corrupt or cannot be fetched; the message says what to do."""


class DataSet:
    """Images and labels of one split, walked in mini-batches with a reshuffle at every epoch.

    images: (N, 3, 32, 32) float32; labels: (N, 10) one-hot float32 or (N,) int64.
    The last incomplete batch of an epoch is dropped, as in the course code, so every batch is full.
    """

    def __init__(self, images, labels, seed=0):
        if len(images) != len(labels):
            raise ValueError(f'{len(images)} images but {len(labels)} labels')
        self.images = images
        self.labels = labels
        self.epochs_completed = 0
        self._rng = np.random.default_rng(seed)
        self._order = self._rng.permutation(self.num_examples)
        self._index_in_epoch = 0

    @property
    def num_examples(self):
        return len(self.images)

    def next_batch(self, batch_size):
        """Return (images, labels) of the next `batch_size` examples: (B, 3, 32, 32), (B, 10) or (B,)."""
        if not 0 < batch_size <= self.num_examples:
            raise ValueError(f'batch_size must be in [1, {self.num_examples}], got {batch_size}')
        if self._index_in_epoch + batch_size > self.num_examples:
            self.epochs_completed += 1
            self._order = self._rng.permutation(self.num_examples)
            self._index_in_epoch = 0
        index = self._order[self._index_in_epoch:self._index_in_epoch + batch_size]
        self._index_in_epoch += batch_size
        return self.images[index], self.labels[index]

    def __repr__(self):
        return f'DataSet(num_examples={self.num_examples}, epochs_completed={self.epochs_completed})'


class _PickledArray:
    """A numpy array as its pickle describes it, kept as the state that numpy's __setstate__ would get:
    (version, shape, dtype, Fortran order, raw bytes). Nothing is allocated for it until images() has checked it.
    """

    state = None

    def __setstate__(self, state):
        self.state = state

    def images(self):
        """The (N, 3, 32, 32) uint8 images of a batch's 'data': a C-order uint8 array of N x 3072, 0 < N <= 10,000."""
        try:
            _, (count, values), dtype, fortran_order, raw = self.state
        except (TypeError, ValueError):  # no state, or not one of a two-dimensional array
            raise ValueError("'data' is not a two-dimensional numpy array") from None
        if not (type(count) is int and 0 < count <= BATCH_IMAGES and values == IMAGE_VALUES
                and dtype == np.uint8 and fortran_order is False
                and isinstance(raw, (bytes, str)) and len(raw) == count * IMAGE_VALUES):
            raise ValueError(f"'data' is not a uint8 array of N x {IMAGE_VALUES} values with 0 < N <= {BATCH_IMAGES}")
        if isinstance(raw, str):  # Python 2 pickled the bytes as str; encoding='latin1' maps them one to one
            raw = raw.encode('latin1')
        return np.frombuffer(raw, dtype=np.uint8).reshape(-1, *IMAGE_SHAPE).copy()


class _BatchUnpickler(pickle._Unpickler):
    """Unpickles plain containers, strings and numbers, and numpy arrays as _PickledArray descriptions.

    Any other class or function is refused, so a crafted file cannot run code (plain pickle.load would call
    whatever it names), and no array is built while unpickling, so a small file cannot make numpy allocate a
    large one. The pure-Python unpickler rather than the C one: its memo is a dict, where the C one allocates
    a list as long as the largest memo index the file names (a 10-byte file can ask for gigabytes). The two
    functions it allows that copy bytes (protocol 2's _codecs.encode, protocol 5's bytearray buffers) may copy no
    more than the file holds in all, as the memo lets a file name one large string any number of times.
    """

    def __init__(self, file, budget, **kwargs):
        super().__init__(file, **kwargs)
        self.budget = budget  # bytes that copies may still take

    def copied(self, size):
        self.budget -= size
        if self.budget < 0:
            raise pickle.UnpicklingError('the copies of bytes this file asks for add up to more than the file holds')

    def latin1_bytes(self, text, encoding):
        """_codecs.encode as protocol-2 pickles of bytes call it, and nothing else."""
        if not (isinstance(text, str) and encoding in ('latin1', 'latin-1')):
            raise pickle.UnpicklingError(f'refusing _codecs.encode of a {type(text).__name__} to {encoding!r}: only '
                                         f'bytes pickled as latin-1 text are allowed')
        self.copied(len(text))
        return text.encode('latin1')

    def from_buffer(self, buffer, dtype, shape, order):
        """_frombuffer as protocol-5 pickles of arrays call it: a _PickledArray description, the buffer as bytes."""
        if isinstance(buffer, bytearray):
            self.copied(len(buffer))
            buffer = bytes(buffer)
        array = _PickledArray()
        array.__setstate__((1, shape, dtype, order == 'F', buffer))  # the state numpy's own pickles hand over
        return array

    def find_class(self, module, name):
        # numpy pickles an array as _reconstruct(ndarray, (0,), b'b') and then hands its state to
        # __setstate__; both steps make and fill a _PickledArray instead.
        if name == '_reconstruct' and module in ('numpy.core.multiarray', 'numpy._core.multiarray'):
            return lambda array_type, shape, dtype: array_type()
        # From protocol 5 on, numpy pickles an array as _frombuffer(its bytes, dtype, shape, order).
        if name == '_frombuffer' and module in ('numpy.core.numeric', 'numpy._core.numeric'):
            return self.from_buffer
        if (module, name) == ('numpy', 'ndarray'):
            return _PickledArray
        if (module, name) == ('numpy', 'dtype'):
            return np.dtype
        # Python 3 pickles bytes at protocol 2 as _codecs.encode(their latin-1 text, 'latin1').
        if (module, name) == ('_codecs', 'encode'):
            return self.latin1_bytes
        raise pickle.UnpicklingError(f'refusing to load {module}.{name}: only numpy arrays are allowed')


def _images_and_labels(batch):
    """The arrays of an unpickled batch dict; ValueError saying what is wrong with anything else.

    Every size is checked before the arrays are made, so nothing larger than a batch is allocated.
    """
    if not (isinstance(batch, dict) and 'data' in batch and 'labels' in batch):
        raise ValueError("expected a dict with 'data' and 'labels', as the official batch files hold")
    data, labels = batch['data'], batch['labels']
    if not isinstance(data, _PickledArray):
        raise ValueError(f"'data' is a {type(data).__name__}, not a numpy array")
    images = data.images()
    if not (isinstance(labels, list) and len(labels) == len(images)
            and all(type(label) is int and 0 <= label < len(CLASSES) for label in labels)):
        raise ValueError(f"'labels' is not a list of {len(images)} integers in [0, {len(CLASSES) - 1}]")
    return images, np.array(labels, dtype=np.int64)


def load_batch(path):
    """Load one CIFAR-10 batch file: (images (N, 3, 32, 32) uint8, labels (N,) int64).

    Reads the official files (Python 2 pickles, protocol 2) and copies pickled by Python 3 with any protocol from 2
    to 5. A file that is not a batch dict of at most 10,000 images is refused as corrupt before anything larger than
    the file is allocated.
    """
    try:
        file = open(path, 'rb')
    except FileNotFoundError:
        raise DataError(f'missing CIFAR-10 file {path}') from None
    with file:
        try:
            if os.fstat(file.fileno()).st_size > MAX_FILE_BYTES:
                raise ValueError(f'larger than the {MAX_FILE_BYTES} bytes a batch file can need')
            # Unpickled from memory: read from a file, a length the pickle declares reserves that many bytes.
            content = file.read()
            batch = _BatchUnpickler(io.BytesIO(content), budget=len(content), encoding='latin1').load()
            return _images_and_labels(batch)
        except Exception as error:  # a truncated or foreign file fails in many ways; all mean "corrupt"
            raise DataError(f'corrupt CIFAR-10 file {path}: {type(error).__name__}: {error}') from None


def load_cifar10_raw(data_dir):
    """Return (train_images, train_labels, test_images, test_labels) as uint8 / int64 arrays."""
    batches = [load_batch(os.path.join(data_dir, name)) for name in TRAIN_FILES]
    test_images, test_labels = load_batch(os.path.join(data_dir, TEST_FILE))
    return (np.concatenate([images for images, _ in batches]),
            np.concatenate([labels for _, labels in batches]), test_images, test_labels)


def download_cifar10(data_dir):
    """Fetch the official archive, check its MD5 and extract it so that `data_dir` exists."""
    if os.path.basename(os.path.normpath(data_dir)) != CIFAR10_FOLDER:
        raise DataError(f'cannot download into {data_dir}: the archive extracts into a folder '
                        f'named {CIFAR10_FOLDER}')
    from torchvision.datasets import CIFAR10
    from torchvision.datasets.utils import download_and_extract_archive
    root = os.path.dirname(os.path.normpath(data_dir)) or '.'
    made = folders_to_make(root)
    try:
        download_and_extract_archive(CIFAR10.url, root, filename=CIFAR10.filename, md5=CIFAR10.tgz_md5)
    except Exception as error:  # no network, HTTP error, bad checksum: all end the same way
        remove_if_empty(made)
        raise DataError(
            f'CIFAR-10 is not in {data_dir} and downloading {CIFAR10.url} failed ({error}). '
            f'Put the python version of CIFAR-10 there ({", ".join(TRAIN_FILES[:1])}..5, {TEST_FILE}).') from None


def preprocess_images(train, *others, method='mean_image'):
    """Subtract the training split's mean image (or standardise each channel) in every split.

    The statistics come from `train` alone, so nothing of the held-out splits leaks into them.
    Returns float32 copies, in the order given.
    """
    if method not in PREPROCESSING:
        raise ValueError(f'preprocess must be one of {PREPROCESSING}, got {method!r}')
    if method == 'mean_image':
        shift = train.mean(axis=0, dtype=np.float64).astype(np.float32)
        scale = np.float32(1)
    else:
        shift = train.mean(axis=(0, 2, 3), dtype=np.float64).reshape(-1, 1, 1)
        scale = 1 / np.sqrt(train.var(axis=(0, 2, 3), dtype=np.float64)).reshape(-1, 1, 1)
        shift, scale = shift.astype(np.float32), scale.astype(np.float32)
    out = []
    for images in (train, *others):
        x = images.astype(np.float32)
        x -= shift
        if method == 'standardize':
            x *= scale
        out.append(x)
    return out


def make_splits(train_images, train_labels, test_images, test_labels,
                one_hot=True, validation_size=0, preprocess_method='mean_image', seed=0):
    """Split off the first `validation_size` training images, preprocess, wrap in DataSets."""
    if not 0 <= validation_size < len(train_images):
        raise ValueError(f'validation_size must be in [0, {len(train_images) - 1}], got {validation_size}')
    val_images, train_images = train_images[:validation_size], train_images[validation_size:]
    val_labels, train_labels = train_labels[:validation_size], train_labels[validation_size:]
    train_x, val_x, test_x = preprocess_images(train_images, val_images, test_images, method=preprocess_method)
    encode = dense_to_one_hot if one_hot else (lambda labels: labels)
    return {'train': DataSet(train_x, encode(train_labels), seed=seed),
            'validation': DataSet(val_x, encode(val_labels), seed=seed + 1),
            'test': DataSet(test_x, encode(test_labels), seed=seed + 2)}


def dense_to_one_hot(labels, num_classes=len(CLASSES)):
    """(N,) integer labels -> (N, num_classes) float32 one-hot rows."""
    one_hot = np.zeros((len(labels), num_classes), dtype=np.float32)
    one_hot[np.arange(len(labels)), labels] = 1
    return one_hot


def load_cifar10(data_dir=os.path.join('cifar10', CIFAR10_FOLDER), one_hot=True, validation_size=0,
                 preprocess='mean_image', download=False, seed=0):
    """Load CIFAR-10 from `data_dir` into {'train', 'validation', 'test'} DataSets.

    With download=True a missing folder is fetched first (see download_cifar10).
    Raises DataError naming the file when the data is missing or corrupt.
    """
    if os.path.exists(data_dir) and not os.path.isdir(data_dir):
        raise DataError(f'{data_dir} is a file; expected the CIFAR-10 folder ({TRAIN_FILES[0]}..5, {TEST_FILE})')
    if not os.path.isdir(data_dir):
        if not download:
            raise DataError(f'CIFAR-10 folder {data_dir} does not exist')
        download_cifar10(data_dir)
    return make_splits(*load_cifar10_raw(data_dir), one_hot=one_hot, validation_size=validation_size,
                       preprocess_method=preprocess, seed=seed)


# The name the templates of UvA 2018 to 2020 call it by (those of later offerings load torch Datasets by that name).
get_cifar10 = load_cifar10

def synthetic_raw(num_train=5000, num_test=1000, seed=0):
    """CIFAR-shaped uint8 images: a smooth template per class plus heavy pixel noise.

    Learnable (a linear model reaches well above chance) but not trivially so at a glance.
    """
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(-1, 1, size=(len(CLASSES), 3, 4, 4))
    templates = 128 + 12 * coarse.repeat(8, axis=2).repeat(8, axis=3)

    def sample(n):
        labels = rng.integers(len(CLASSES), size=n)
        images = templates[labels] + rng.normal(0, 80, size=(n, *IMAGE_SHAPE))
        return np.clip(images, 0, 255).astype(np.uint8), labels

    return (*sample(num_train), *sample(num_test))


# The training scripts draw the same synthetic set whatever their --seed: one draw serves a whole process.
_drawn_synthetic_raw = functools.lru_cache(maxsize=2)(synthetic_raw)


SYNTHETIC_SIZES = {'num_train': 5000, 'num_test': 1000}


def get_synthetic(num_train=SYNTHETIC_SIZES['num_train'], num_test=SYNTHETIC_SIZES['num_test'], one_hot=True,
                  validation_size=0, preprocess='mean_image', seed=0, data_seed=0):
    """A small stand-in for load_cifar10 with the same splits, shapes and dtypes.

    seed orders the batches, as for load_cifar10; data_seed draws the images. The training scripts leave
    data_seed alone, so that their --seed changes the initialisation and the batch order, not the data.
    """
    raw = [array.copy() for array in _drawn_synthetic_raw(num_train, num_test, data_seed)]
    return make_splits(*raw, one_hot=one_hot,
                       validation_size=validation_size, preprocess_method=preprocess, seed=seed)


def synthetic_test_images():
    """The test images of get_synthetic's default draw as generated, (N, 3, 32, 32) uint8, to show them."""
    return _drawn_synthetic_raw(SYNTHETIC_SIZES['num_train'], SYNTHETIC_SIZES['num_test'], 0)[2]


def folders_to_make(folder):
    """folder and those of its parents that do not exist yet, deepest first."""
    missing = []
    while folder and not os.path.exists(folder):
        missing.append(folder)
        folder = os.path.dirname(os.path.normpath(folder))
    return missing


def remove_if_empty(folders):
    """Remove the folders that a failed download made (deepest first), as long as they are empty."""
    for folder in folders:
        try:
            os.rmdir(folder)
        except OSError:  # not empty (something else is in it) or gone: leave it
            return
