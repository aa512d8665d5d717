"""The CIFAR-10 loader on a tiny folder in the official layout, written here; the synthetic twin; MNIST and
VU's synthetic set."""
import os
import pickle
from urllib.error import URLError

import numpy as np
import pytest

import cifar10_utils
from cifar10_utils import DataError, DataSet, get_cifar10, get_synthetic

PER_BATCH = 6
REAL_COPY = os.path.join(os.path.dirname(__file__), '..', 'cifar10', cifar10_utils.CIFAR10_FOLDER)


def write_tiny_cifar10(folder, seed=0):
    """Five training batches and a test batch of PER_BATCH images each, as the official files are."""
    rng = np.random.default_rng(seed)
    os.makedirs(folder)
    batches = {}
    for name in cifar10_utils.TRAIN_FILES + [cifar10_utils.TEST_FILE]:
        batch = {'batch_label': name, 'labels': rng.integers(10, size=PER_BATCH).tolist(),
                 'data': rng.integers(256, size=(PER_BATCH, 3072), dtype=np.uint8),
                 'filenames': [f'{i}.png' for i in range(PER_BATCH)]}
        with open(os.path.join(folder, name), 'wb') as f:
            pickle.dump(batch, f, protocol=4)
        batches[name] = batch
    return batches


@pytest.fixture
def tiny(tmp_path):
    folder = str(tmp_path / cifar10_utils.CIFAR10_FOLDER)
    return folder, write_tiny_cifar10(folder)


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
    with pytest.raises(DataError, match=r'downloading .*cifar-10-python.tar.gz failed.*--dataset synthetic'):
        get_cifar10(folder, download=True)


def test_synthetic_has_the_cifar10_interface_and_is_seeded():
    data = get_synthetic(num_train=200, num_test=50, validation_size=20)
    assert data['train'].images.shape == (180, 3, 32, 32) and data['train'].images.dtype == np.float32
    assert data['test'].labels.shape == (50, 10) and data['validation'].num_examples == 20
    again = get_synthetic(num_train=200, num_test=50, validation_size=20)
    np.testing.assert_array_equal(data['test'].images, again['test'].images)
    assert not np.array_equal(data['test'].images, get_synthetic(200, 50, seed=1)['test'].images)


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
    for (images_file, labels_file), n in zip(cifar10_utils.MNIST_FILES.values(), (num_train, num_test)):
        images, labels = rng.integers(256, size=(n, 28, 28), dtype=np.uint8), rng.integers(10, size=n, dtype=np.uint8)
        for name, array in ((images_file, images), (labels_file, labels)):
            header = (0x800 + array.ndim).to_bytes(4, 'big') + b''.join(size.to_bytes(4, 'big') for size in array.shape)
            with open(os.path.join(folder, name), 'wb') as f:
                f.write(header + array.tobytes())
        arrays[images_file], arrays[labels_file] = images, labels
    return arrays


def test_mnist_idx_files_load_exactly(tmp_path):
    arrays = write_tiny_mnist(str(tmp_path))
    train_images, train_labels, test_images, test_labels = cifar10_utils.load_mnist_raw(str(tmp_path))
    np.testing.assert_array_equal(train_images[:, 0], arrays['train-images-idx3-ubyte'])
    np.testing.assert_array_equal(test_labels, arrays['t10k-labels-idx1-ubyte'])
    assert train_images.shape == (30, 1, 28, 28) and train_labels.dtype == np.int64
    data = cifar10_utils.get_mnist(str(tmp_path), one_hot=False, validation_size=5)
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
        cifar10_utils.load_mnist_raw(str(tmp_path))


def test_missing_mnist_offline_says_what_to_do(tmp_path, monkeypatch):
    import torchvision.datasets.utils

    def offline(url, *args, **kwargs):
        raise URLError('network unreachable')

    monkeypatch.setattr(torchvision.datasets.utils, 'download_and_extract_archive', offline)
    with pytest.raises(DataError) as error:
        cifar10_utils.get_mnist(str(tmp_path / 'mnist'), download=True)
    message = str(error.value)
    assert 'network unreachable' in message and '--dataset synth' in message and 'train-images-idx3-ubyte' in message
    assert '\n' not in message


def test_synth_follows_the_quadratic_form_and_only_data_seed_moves_the_points():
    data = cifar10_utils.get_synth(num_train=2000, validation_size=500, num_test=500, one_hot=False, seed=1)
    x, labels = data['train'].images.astype(np.float64), data['train'].labels
    q = x[:, 0] ** 2 + 1.5 * x[:, 0] * x[:, 1] + 0.2 * x[:, 1] ** 2  # x^T [[1, 0.5], [1, 0.2]] x written out
    np.testing.assert_array_equal(labels, (q > 0.6).astype(np.int64))
    assert x.shape == (2000, 2) and data['train'].images.dtype == np.float32 and 0.4 < labels.mean() < 0.5
    assert abs(x.mean()) < 0.1 and abs(x.std() - 1) < 0.05
    other_seed = cifar10_utils.get_synth(num_train=2000, validation_size=500, num_test=500, one_hot=False, seed=2)
    np.testing.assert_array_equal(other_seed['validation'].images, data['validation'].images)
    assert not np.array_equal(other_seed['train'].next_batch(10)[0], data['train'].next_batch(10)[0])
    other_data = cifar10_utils.get_synth(num_train=2000, validation_size=500, num_test=500, data_seed=1)
    assert not np.array_equal(other_data['train'].images, data['train'].images)
    assert cifar10_utils.get_synth(num_train=10, validation_size=5, num_test=5)['train'].labels.shape == (10, 2)
