"""The datasets the training scripts take by name: what each is, its default folder and class names, how to load
it, and a fingerprint that tells one copy of its files from another.

'fake_cifar10' is the CIFAR-shaped stand-in of cifar10_utils (the name 'synthetic' is accepted for it too);
'synth' is VU's two-feature set.
"""
import hashlib
import os

import cifar10_utils
import vu_data
from cifar10_utils import CIFAR10_FOLDER, CLASSES, TEST_FILE, TRAIN_FILES, DataError
from vu_data import MNIST_FILES

DATASET_DESCRIPTIONS = {'cifar10': 'CIFAR-10',
                        'fake_cifar10': 'a small CIFAR-shaped stand-in for offline smoke runs (the same images '
                                        'whatever --seed)',
                        'mnist': 'MNIST', 'synth': "VU's two-feature synthetic set (the same points whatever --seed)"}
DATASETS = tuple(DATASET_DESCRIPTIONS)
# Other names accepted for a dataset wherever one is named (flags, the configs of saved runs).
ALIASES = {'synthetic': 'fake_cifar10'}
CLASS_NAMES = {'cifar10': CLASSES, 'fake_cifar10': CLASSES, 'mnist': tuple('0123456789'),
               'synth': ('class 0', 'class 1')}
CIFAR10_DATASETS = ('cifar10', 'fake_cifar10')  # what the CIFAR-10 scripts train on
DEFAULT_DATA_DIRS = {'cifar10': os.path.join('cifar10', CIFAR10_FOLDER), 'mnist': 'mnist'}
DATA_FILES = {'cifar10': TRAIN_FILES + [TEST_FILE], 'mnist': [name for pair in MNIST_FILES.values() for name in pair]}


def canonical(name):
    """A dataset's name as DATASETS spells it: an alias (ALIASES) becomes the name it stands for."""
    return ALIASES.get(name, name)


def canonical_fingerprint(fingerprint):
    """A recorded fingerprint with a generated set's alias (ALIASES) spelt as the name it stands for."""
    for alias, name in ALIASES.items():
        if fingerprint and fingerprint.startswith(f'generated ({alias},'):
            return fingerprint.replace(f'({alias},', f'({name},', 1)
    return fingerprint


def raw_test_images(name, data_dir):
    """The test images of an image dataset as stored, (N, C, H, W) uint8, to show them; None for synth."""
    name = canonical(name)
    if name == 'cifar10':
        return cifar10_utils.load_batch(os.path.join(data_dir, TEST_FILE))[0]
    if name == 'mnist':
        return vu_data.load_idx(os.path.join(data_dir, MNIST_FILES['test'][0]), 3)[:, None]
    if name == 'fake_cifar10':
        return cifar10_utils.synthetic_test_images()
    return None


def fingerprint(name, data_dir):
    """A short digest of the dataset's files (the first 16 hex digits of the SHA-256 of their bytes, in a fixed
    order), telling one copy of the data from another; for a generated set, how it was generated."""
    if name not in DATA_FILES:
        return f'generated ({name}, data_seed 0)'
    digest = hashlib.sha256()
    for file in DATA_FILES[name]:
        with open(os.path.join(data_dir, file), 'rb') as f:
            for chunk in iter(lambda: f.read(1 << 20), b''):
                digest.update(chunk)
    return digest.hexdigest()[:16]


def load_dataset(name, data_dir, **kwargs):
    """The training scripts' entry point: 'cifar10' or 'mnist' (downloaded when missing), 'fake_cifar10' (a
    CIFAR-shaped stand-in), or 'synth' (VU's two-feature set; it has no preprocessing)."""
    name = canonical(name)
    if name == 'cifar10':
        return cifar10_utils.load_cifar10(data_dir, download=True, **kwargs)
    if name == 'fake_cifar10':
        return cifar10_utils.get_synthetic(**kwargs)
    if name == 'mnist':
        return vu_data.get_mnist(data_dir, download=True, **kwargs)
    if name == 'synth':
        preprocess = kwargs.pop('preprocess', None)
        if preprocess is not None:
            raise ValueError(f'synth takes no preprocessing (its features are standard normal already), '
                             f'got preprocess={preprocess!r}')
        return vu_data.get_synth(**kwargs)
    raise ValueError(f'dataset must be one of {DATASETS}, got {name!r}')


def run_split(config, dataset=None, data_dir=None, split='test'):
    """(the run's test or validation DataSet as its preprocessing leaves it, integer labels; the data's provenance).
    The data's fingerprint must match the one the run recorded, when it recorded one and the dataset is the run's."""
    trained_on = canonical(config.get('dataset'))
    if trained_on not in DATASETS:
        raise DataError(f'the model file\'s flags name no dataset of this project ({trained_on!r})')
    dataset = canonical(dataset or trained_on)
    data_dir = data_dir or (config.get('data_dir') if dataset == trained_on else None) \
        or DEFAULT_DATA_DIRS.get(dataset)
    preprocess = None if dataset == 'synth' else config.get('preprocess', 'mean_image')
    splits = load_dataset(dataset, data_dir, one_hot=False, preprocess=preprocess,
                          validation_size=config.get('validation_size', 0))
    digest = fingerprint(dataset, data_dir)
    recorded = canonical_fingerprint(config.get('data_fingerprint'))
    if recorded and dataset == trained_on and recorded != digest:
        raise DataError(f'the {dataset} data in {data_dir} (fingerprint {digest}) is not the data the run was '
                        f'trained on ({recorded}); give --data_dir the run\'s copy')
    if split == 'validation' and not splits[split].num_examples:
        raise DataError('the run holds out no validation split; train it with --validation_size')
    return splits[split], {'dataset': dataset, 'data_dir': data_dir, 'fingerprint': digest}
