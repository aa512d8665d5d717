"""The CIFAR-10 loader on a tiny folder in the official layout, written here; the synthetic twin; MNIST and
VU's synthetic set."""
import codecs
import io
import os
import pickle
import struct
import tracemalloc
from urllib.error import URLError

import numpy as np
import pytest

import cifar10_utils
import vu_data
from cifar10_utils import DataError, DataSet, get_cifar10, get_synthetic

PER_BATCH = 6
REAL_COPY = os.path.join(os.path.dirname(__file__), '..', 'cifar10', cifar10_utils.CIFAR10_FOLDER)


class Python2Pickler(pickle._Pickler):
    """Pickles bytes as Python 2 pickled its str (the official batches were written by Python 2)."""

    def save_bytes(self, obj):
        header = (pickle.SHORT_BINSTRING + bytes([len(obj)]) if len(obj) < 256
                  else pickle.BINSTRING + struct.pack('<i', len(obj)))
        self.write(header + obj)
        self.memoize(obj)

    dispatch = {**pickle._Pickler.dispatch, bytes: save_bytes}


def dump_batch(batch, path, layout):
    """Write a batch dict as the official files are ('python2': protocol 2, keys and strings as Python 2's str,
    numpy 1's module names) or as the stand-in copy is ('protocol4': protocol 4, str keys)."""
    if layout == 'protocol4':
        content = pickle.dumps(batch, protocol=4)
    else:
        file = io.BytesIO()
        encode = lambda value: value.encode() if isinstance(value, str) else value  # noqa: E731
        Python2Pickler(file, protocol=2).dump(
            {key.encode(): [encode(v) for v in value] if isinstance(value, list) else encode(value)
             for key, value in batch.items()})
        content = file.getvalue().replace(b'numpy._core.multiarray', b'numpy.core.multiarray')
    with open(path, 'wb') as f:
        f.write(content)


def write_tiny_cifar10(folder, seed=0, layout='protocol4'):
    """Five training batches and a test batch of PER_BATCH images each, as the official files are."""
    rng = np.random.default_rng(seed)
    os.makedirs(folder)
    batches = {}
    for name in cifar10_utils.TRAIN_FILES + [cifar10_utils.TEST_FILE]:
        batch = {'batch_label': name, 'labels': rng.integers(10, size=PER_BATCH).tolist(),
                 'data': rng.integers(256, size=(PER_BATCH, 3072), dtype=np.uint8),
                 'filenames': [f'{i}.png' for i in range(PER_BATCH)]}
        dump_batch(batch, os.path.join(folder, name), layout)
        batches[name] = batch
    return batches


@pytest.fixture(params=['python2', 'protocol4'])
def tiny(tmp_path, request):
    folder = str(tmp_path / cifar10_utils.CIFAR10_FOLDER)
    return folder, write_tiny_cifar10(folder, layout=request.param)


def test_loads_official_layout_and_subtracts_the_training_mean_image(tiny):
    folder, batches = tiny
    data = get_cifar10(folder)
    train, test = data['train'], data['test']
    assert train.images.shape == (5 * PER_BATCH, 3, 32, 32) and train.images.dtype == np.float32
    assert test.images.shape == (PER_BATCH, 3, 32, 32) and data['validation'].num_examples == 0
    raw_train = np.concatenate([batches[name]['data'] for name in cifar10_utils.TRAIN_FILES]).astype(np.float64)
    mean = raw_train.mean(axis=0)
    np.testing.assert_allclose(train.images.reshape(len(raw_train), -1), raw_train - mean, atol=1e-4)
    np.testing.assert_allclose(test.images.reshape(PER_BATCH, -1),
                               batches['test_batch']['data'] - mean, atol=1e-4)
    labels = sum((batches[name]['labels'] for name in cifar10_utils.TRAIN_FILES), [])
    np.testing.assert_array_equal(train.labels, np.eye(10, dtype=np.float32)[labels])
    assert train.labels.dtype == np.float32


def test_channel_layout_is_official_red_then_green_then_blue(tiny):
    folder, batches = tiny
    raw = cifar10_utils.load_batch(os.path.join(folder, 'test_batch'))[0]
    np.testing.assert_array_equal(raw[0, 1, 0, :], batches['test_batch']['data'][0, 1024:1024 + 32])


def test_validation_split_is_the_first_training_images_and_labels_can_stay_integers(tiny):
    folder, batches = tiny
    data = get_cifar10(folder, one_hot=False, validation_size=4)
    assert data['validation'].num_examples == 4 and data['train'].num_examples == 5 * PER_BATCH - 4
    np.testing.assert_array_equal(data['validation'].labels, batches['data_batch_1']['labels'][:4])
    assert data['train'].labels.dtype == np.int64
    # the mean image comes from the remaining training images only
    np.testing.assert_allclose(data['train'].images.mean(axis=0), 0, atol=1e-4)
    with pytest.raises(ValueError, match='validation_size'):
        get_cifar10(folder, validation_size=5 * PER_BATCH)


def test_standardize_gives_zero_mean_unit_variance_channels(tiny):
    images = get_cifar10(tiny[0], preprocess='standardize')['train'].images
    np.testing.assert_allclose(images.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(images.std(axis=(0, 2, 3)), 1, atol=1e-5)


def test_next_batch_walks_every_example_once_per_epoch_then_reshuffles():
    images = np.arange(10, dtype=np.float32).reshape(10, 1)
    data = DataSet(images, np.arange(10), seed=3)
    first_epoch = np.concatenate([data.next_batch(5)[0] for _ in range(2)]).ravel()
    assert sorted(first_epoch) == list(range(10)) and data.epochs_completed == 0
    second_epoch = np.concatenate([data.next_batch(5)[0] for _ in range(2)]).ravel()
    assert data.epochs_completed == 1 and sorted(second_epoch) == list(range(10))
    assert not np.array_equal(first_epoch, second_epoch)
    x, y = data.next_batch(3)
    np.testing.assert_array_equal(x.ravel(), y)  # images and labels stay paired
    with pytest.raises(ValueError, match=r'batch_size must be in \[1, 10\]'):
        data.next_batch(11)


def test_same_seed_same_batches():
    a, b = (DataSet(np.arange(100.0), np.arange(100), seed=7) for _ in range(2))
    np.testing.assert_array_equal(a.next_batch(10)[0], b.next_batch(10)[0])


@pytest.mark.parametrize('protocol', [2, 3, 4, 5])
def test_a_batch_pickled_with_any_protocol_loads(tmp_path, protocol):
    # Protocol 2 pickles bytes through _codecs.encode, protocol 5 arrays through numpy's _frombuffer.
    rng = np.random.default_rng(protocol)
    batch = {'batch_label': 'a copy', 'labels': rng.integers(10, size=6).tolist(),
             'data': rng.integers(256, size=(6, 3072), dtype=np.uint8), 'filenames': [f'{i}.png' for i in range(6)]}
    path = tmp_path / 'data_batch_1'
    path.write_bytes(pickle.dumps(batch, protocol=protocol))
    images, labels = cifar10_utils.load_batch(str(path))
    assert np.array_equal(images.reshape(6, 3072), batch['data']) and labels.tolist() == batch['labels']


@pytest.mark.parametrize('text, encoding', [('abc', 'rot13'), (b'abc', 'latin1')])
def test_codecs_encode_is_allowed_for_latin1_text_alone(tmp_path, text, encoding):
    class Encoded:
        def __reduce__(self):
            return codecs.encode, (text, encoding)

    path = tmp_path / 'data_batch_1'
    path.write_bytes(pickle.dumps({'data': Encoded(), 'labels': [0]}, protocol=2))
    with pytest.raises(DataError, match='only bytes pickled as latin-1 text are allowed'):
        cifar10_utils.load_batch(str(path))


def amplifying_pickle(form, size=100_000, calls=1_000):
    """A pickle that stores one string (or bytearray) of `size` once and has it copied `calls` times by a function
    the unpickler allows: a few bytes a call, `size` bytes a copy."""
    if form == 'str':  # protocol 2: _codecs.encode(text, 'latin1')
        head = (pickle.PROTO + b'\x02' + pickle.GLOBAL + b'_codecs\nencode\n' + pickle.BINPUT + b'\x00'
                + pickle.BINUNICODE + struct.pack('<I', size) + b'a' * size + pickle.BINPUT + b'\x01'
                + pickle.SHORT_BINUNICODE + b'\x06latin1' + pickle.BINPUT + b'\x02' + pickle.POP + pickle.POP
                + pickle.POP)
        call = pickle.BINGET + b'\x00' + pickle.BINGET + b'\x01' + pickle.BINGET + b'\x02' + pickle.TUPLE2
    else:  # protocol 5: numpy's _frombuffer(bytearray, dtype, shape, order)
        head = (pickle.PROTO + b'\x05' + pickle.GLOBAL + b'numpy._core.numeric\n_frombuffer\n' + pickle.BINPUT
                + b'\x00' + pickle.BYTEARRAY8 + struct.pack('<Q', size) + b'a' * size + pickle.BINPUT + b'\x01'
                + pickle.POP + pickle.POP)
        call = (pickle.BINGET + b'\x00' + pickle.MARK + pickle.BINGET + b'\x01' + pickle.NONE + pickle.NONE
                + pickle.NONE + pickle.TUPLE)
    return head + pickle.EMPTY_LIST + pickle.MARK + (call + pickle.REDUCE) * calls + pickle.APPENDS + pickle.STOP


@pytest.mark.parametrize('form', ['str', 'bytearray'])
def test_a_string_named_many_times_is_not_copied_beyond_the_files_size(tmp_path, form):
    path = tmp_path / 'data_batch_1'
    path.write_bytes(amplifying_pickle(form))  # 0.1 MB asking for 100 MB of copies
    tracemalloc.start()
    try:
        with pytest.raises(DataError, match='copies of bytes this file asks for add up to more than the file holds'):
            cifar10_utils.load_batch(str(path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5 * path.stat().st_size, f'{peak:,} bytes'


def test_malicious_pickle_is_refused_without_running_it(tiny, tmp_path):
    folder, _ = tiny
    marker = tmp_path / 'pwned'

    class Exploit:
        def __reduce__(self):
            return os.system, (f'touch {marker}',)

    with open(os.path.join(folder, 'data_batch_3'), 'wb') as f:
        pickle.dump({'data': Exploit(), 'labels': [0]}, f)
    with pytest.raises(DataError, match=r'data_batch_3.*refusing to load'):
        get_cifar10(folder)
    assert not marker.exists()


RECONSTRUCT = np.empty(0).__reduce__()[0]  # the function numpy's array pickles call, whatever its module


class PickledState:
    """Pickles as numpy's _reconstruct(ndarray, shape, b'b'), followed by __setstate__(state) if a state is given."""

    def __init__(self, shape, state=None):
        self.shape, self.state = shape, state

    def __reduce__(self):
        return (RECONSTRUCT, (np.ndarray, self.shape, b'b')) + ((self.state,) if self.state else ())


IMAGE = [[[0] * 32] * 32] * 3  # one row of zeros, referred to 32 times per channel: pickles in a few bytes


@pytest.mark.parametrize('content', [
    # 40,000 images of nested lists, each list stored once and referred to by index: 123 million values.
    pickle.dumps({'data': [[IMAGE] * 200] * 200, 'labels': [0]}, protocol=2),
    # numpy's first step when it unpickles an array, asked for 4 GB instead of the usual empty array.
    pickle.dumps({'data': PickledState((4 * 10 ** 9,)), 'labels': [0]}, protocol=4),
    # A memo index of 16 million, for which the C unpickler allocates and clears a list of 32 million entries.
    pickle.PROTO + b'\x02' + pickle.EMPTY_DICT + pickle.LONG_BINPUT + struct.pack('<I', 2 ** 24) + pickle.STOP,
    # A declared length of 4 GB, which a file object reserves before it finds the file much shorter.
    pickle.PROTO + b'\x04' + pickle.BINBYTES8 + struct.pack('<Q', 2 ** 32) + pickle.STOP,
], ids=['nested_lists', 'huge_empty_array', 'memo_index', 'declared_length'])
def test_small_crafted_file_is_refused_before_it_expands(tmp_path, content):
    path = tmp_path / 'data_batch_1'
    path.write_bytes(content)
    assert len(content) < 2000
    tracemalloc.start()
    try:
        with pytest.raises(DataError, match=r'^corrupt CIFAR-10 file .*data_batch_1: [^\n]*$'):
            cifar10_utils.load_batch(str(path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000  # bytes: the file itself and the unpickler's bookkeeping


@pytest.mark.parametrize('batch,message', [
    ([np.zeros((1, 3072), np.uint8), [0]], "expected a dict with 'data' and 'labels'"),
    ({'data': np.zeros((1, 3072), np.uint8)}, "expected a dict with 'data' and 'labels'"),
    ({'data': np.zeros((1, 3072)).tolist(), 'labels': [0]}, "'data' is a list, not a numpy array"),
    ({'data': np.zeros((1, 3072), np.float32), 'labels': [0]}, "'data' is not a uint8 array of N x 3072"),
    ({'data': np.zeros((1, 3, 1024), np.uint8), 'labels': [0]}, "'data' is not a two-dimensional numpy array"),
    ({'data': PickledState((0,), (1, (20000, 3072), np.dtype(np.uint8), False, b'\0' * 3072)), 'labels': [0]},
     "'data' is not a uint8 array of N x 3072 values with 0 < N <= 10000"),
    ({'data': np.zeros((2, 3072), np.uint8), 'labels': [0]}, "'labels' is not a list of 2 integers in \\[0, 9\\]"),
    ({'data': np.zeros((1, 3072), np.uint8), 'labels': [10]}, "'labels' is not a list of 1 integers"),
    ({'data': np.zeros((1, 3072), np.uint8), 'labels': np.zeros(1, np.int64)}, "'labels' is not a list"),
], ids=['list', 'no_labels', 'data_list', 'float_data', 'three_dimensional', 'more_than_a_batch',
        'too_few_labels', 'label_out_of_range', 'label_array'])
def test_file_that_is_not_a_batch_dict_is_refused(tmp_path, batch, message):
    path = tmp_path / 'test_batch'
    path.write_bytes(pickle.dumps(batch, protocol=4))
    with pytest.raises(DataError, match=f'corrupt CIFAR-10 file .*test_batch: ValueError: {message}'):
        cifar10_utils.load_batch(str(path))


def test_missing_folder_and_missing_file_are_named(tiny, tmp_path):
    missing = str(tmp_path / 'nowhere')
    with pytest.raises(DataError, match='nowhere does not exist'):
        get_cifar10(missing)
    folder, _ = tiny
    os.remove(os.path.join(folder, 'test_batch'))
    with pytest.raises(DataError, match=r'missing CIFAR-10 file .*test_batch'):
        get_cifar10(folder)


@pytest.mark.parametrize('content', [b'', b'not a pickle at all', None], ids=['empty', 'garbage', 'truncated'])
def test_corrupt_file_is_named(tiny, content):
    folder, _ = tiny
    path = os.path.join(folder, 'data_batch_2')
    if content is None:
        with open(path, 'rb') as f:
            content = f.read()[:1000]
    with open(path, 'wb') as f:
        f.write(content)
    with pytest.raises(DataError, match=r'corrupt CIFAR-10 file .*data_batch_2'):
        get_cifar10(folder)


def test_failed_download_says_where_to_put_the_data(tmp_path, monkeypatch):
    import torchvision.datasets.utils

    def offline(*args, **kwargs):
        raise URLError('no network')

    monkeypatch.setattr(torchvision.datasets.utils, 'download_and_extract_archive', offline)
    folder = str(tmp_path / cifar10_utils.CIFAR10_FOLDER)
    with pytest.raises(DataError, match=r'downloading .*cifar-10-python.tar.gz failed.*Put the python version'):
        get_cifar10(folder, download=True)
    # the scripts that have --dataset say that it trains offline
    import train_mlp_numpy
    with pytest.raises(SystemExit, match=r'failed.*\(--dataset fake_cifar10 trains offline, on a stand-in\)$'):
        train_mlp_numpy.main(['--data_dir', folder, '--output_dir', str(tmp_path / 'run')])


def test_synthetic_has_the_cifar10_interface():
    data = get_synthetic(num_train=200, num_test=50, validation_size=20)
    assert data['train'].images.shape == (180, 3, 32, 32) and data['train'].images.dtype == np.float32
    assert data['test'].labels.shape == (50, 10) and data['validation'].num_examples == 20


def test_synthetic_seed_orders_the_batches_and_data_seed_draws_the_images():
    first, same_data, other_data = (get_synthetic(200, 50, seed=seed, data_seed=data_seed)
                                    for seed, data_seed in [(0, 0), (1, 0), (0, 1)])
    for split in ('train', 'test'):
        np.testing.assert_array_equal(first[split].images, same_data[split].images)
        assert not np.array_equal(first[split].images, other_data[split].images)
    assert not np.array_equal(first['train'].next_batch(20)[0], same_data['train'].next_batch(20)[0])


def test_synthetic_is_learnable_by_nearest_class_mean():
    data = get_synthetic(num_train=2000, num_test=500, one_hot=False)
    train, test = data['train'], data['test']
    means = np.stack([train.images[train.labels == c].mean(axis=0).ravel() for c in range(10)])
    distances = ((test.images.reshape(len(test.images), -1)[:, None, :] - means) ** 2).sum(axis=2)
    assert (distances.argmin(axis=1) == test.labels).mean() > 0.5


@pytest.mark.skipif(not os.path.isdir(REAL_COPY), reason='no CIFAR-10 copy in cifar10/')
def test_real_copy_loads():
    data = get_cifar10(REAL_COPY, one_hot=False)
    assert data['train'].images.shape == (50000, 3, 32, 32) and data['test'].num_examples == 10000
    assert np.bincount(data['test'].labels).tolist() == [1000] * 10
    np.testing.assert_allclose(data['train'].images.mean(axis=0), 0, atol=1e-3)


def write_tiny_mnist(folder, num_train=30, num_test=10, seed=0):
    """The four MNIST files in their IDX format (big-endian header, then unsigned bytes), as downloaded and unpacked."""
    rng = np.random.default_rng(seed)
    os.makedirs(folder, exist_ok=True)
    arrays = {}
    for (images_file, labels_file), n in zip(vu_data.MNIST_FILES.values(), (num_train, num_test)):
        images, labels = rng.integers(256, size=(n, 28, 28), dtype=np.uint8), rng.integers(10, size=n, dtype=np.uint8)
        for name, array in ((images_file, images), (labels_file, labels)):
            header = (0x800 + array.ndim).to_bytes(4, 'big') + b''.join(size.to_bytes(4, 'big') for size in array.shape)
            with open(os.path.join(folder, name), 'wb') as f:
                f.write(header + array.tobytes())
        arrays[images_file], arrays[labels_file] = images, labels
    return arrays


def test_mnist_idx_files_load_exactly(tmp_path):
    arrays = write_tiny_mnist(str(tmp_path))
    train_images, train_labels, test_images, test_labels = vu_data.load_mnist_raw(str(tmp_path))
    np.testing.assert_array_equal(train_images[:, 0], arrays['train-images-idx3-ubyte'])
    np.testing.assert_array_equal(test_labels, arrays['t10k-labels-idx1-ubyte'])
    assert train_images.shape == (30, 1, 28, 28) and train_labels.dtype == np.int64
    data = vu_data.get_mnist(str(tmp_path), one_hot=False, validation_size=5)
    assert (data['train'].num_examples, data['validation'].num_examples, data['test'].num_examples) == (25, 5, 10)
    np.testing.assert_array_equal(data['validation'].labels, train_labels[:5])
    train = data['train'].images.astype(np.float64)
    assert abs(train.mean()) < 1e-6 and abs(train.std() - 1) < 1e-5  # standardised with the remaining 25 images


@pytest.mark.parametrize('damage', ['truncate', 'magic'])
def test_corrupt_mnist_file_is_named(tmp_path, damage):
    write_tiny_mnist(str(tmp_path))
    path = tmp_path / 't10k-images-idx3-ubyte'
    content = path.read_bytes()
    path.write_bytes(content[:-1] if damage == 'truncate' else (2049).to_bytes(4, 'big') + content[4:])
    with pytest.raises(DataError, match='corrupt MNIST file .*t10k-images-idx3-ubyte'):
        vu_data.load_mnist_raw(str(tmp_path))


def test_missing_mnist_offline_says_what_to_do(tmp_path, monkeypatch):
    import torchvision.datasets.utils

    def offline(url, *args, **kwargs):
        raise URLError('network unreachable')

    monkeypatch.setattr(torchvision.datasets.utils, 'download_and_extract_archive', offline)
    with pytest.raises(DataError) as error:
        vu_data.get_mnist(str(tmp_path / 'mnist'), download=True)
    message = str(error.value)
    assert 'network unreachable' in message and '--dataset synth' in message and 'train-images-idx3-ubyte' in message
    assert '\n' not in message


def test_synth_follows_the_quadratic_form_and_only_data_seed_moves_the_points():
    data = vu_data.get_synth(num_train=2000, validation_size=500, num_test=500, one_hot=False, seed=1)
    x, labels = data['train'].images.astype(np.float64), data['train'].labels
    q = x[:, 0] ** 2 + 1.5 * x[:, 0] * x[:, 1] + 0.2 * x[:, 1] ** 2  # x^T [[1, 0.5], [1, 0.2]] x written out
    np.testing.assert_array_equal(labels, (q > 0.6).astype(np.int64))
    assert x.shape == (2000, 2) and data['train'].images.dtype == np.float32 and 0.4 < labels.mean() < 0.5
    assert abs(x.mean()) < 0.1 and abs(x.std() - 1) < 0.05
    other_seed = vu_data.get_synth(num_train=2000, validation_size=500, num_test=500, one_hot=False, seed=2)
    np.testing.assert_array_equal(other_seed['validation'].images, data['validation'].images)
    assert not np.array_equal(other_seed['train'].next_batch(10)[0], data['train'].next_batch(10)[0])
    other_data = vu_data.get_synth(num_train=2000, validation_size=500, num_test=500, data_seed=1)
    assert not np.array_equal(other_data['train'].images, data['train'].images)
    assert vu_data.get_synth(num_train=10, validation_size=5, num_test=5)['train'].labels.shape == (10, 2)
