"""The datasets the training scripts take by name: what each is, its default folder and class names, how to load
it, and a fingerprint that tells one copy of its files from another. 'fake_cifar10' is the CIFAR-shaped stand-in of
cifar10_utils (also accepted as 'synthetic'); 'synth' and 'mnist' are the VU offering's (vu2021/vu_data.py)."""
import importlib
import os
import sys

import cifar10_utils
import runkit
from cifar10_utils import CIFAR10_FOLDER, CLASSES, DataError

VU2021 = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'vu2021')

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


def vu2021(name):
    """A module of the VU offering's folder (autodiff, vu_data), imported as its script does: the folder on sys.path."""
    if VU2021 not in sys.path:
        sys.path.append(VU2021)
    return importlib.import_module(name)


def data_files(name):
    """The files of a dataset read from a folder, in the order its fingerprint reads them; None for a generated one."""
    if name == 'cifar10':
        return cifar10_utils.FILES
    if name == 'mnist':
        return [file for pair in vu2021('vu_data').MNIST_FILES.values() for file in pair]
    return None


def canonical(name):
    """A dataset's name as DATASETS spells it: an alias (ALIASES) becomes the name it stands for."""
    return ALIASES.get(name, name)


def canonical_fingerprint(fingerprint):
    """A recorded fingerprint with a generated set's alias (ALIASES) spelt as the name it stands for."""
    for alias, name in ALIASES.items():
        if fingerprint and fingerprint.startswith(f'generated ({alias},'):
            return fingerprint.replace(f'({alias},', f'({name},', 1)
    return fingerprint


def fingerprint(name, data_dir):
    """The digest of the dataset's files (runkit.fingerprint), or for a generated set how it was generated."""
    files = data_files(name)
    return runkit.fingerprint(data_dir, files) if files else f'generated ({name}, data_seed 0)'


def load_dataset(name, data_dir, **kwargs):
    """The training scripts' entry point: 'cifar10' or 'mnist' (downloaded when missing), 'fake_cifar10' (a
    CIFAR-shaped stand-in), or 'synth' (VU's two-feature set; it has no preprocessing)."""
    name = canonical(name)
    if name == 'cifar10':
        return cifar10_utils.load_cifar10(data_dir, download=True, **kwargs)
    if name == 'fake_cifar10':
        return cifar10_utils.get_synthetic(**kwargs)
    if name == 'mnist':
        return vu2021('vu_data').get_mnist(data_dir, download=True, **kwargs)
    if name == 'synth':
        preprocess = kwargs.pop('preprocess', None)
        if preprocess is not None:
            raise ValueError(f'synth takes no preprocessing (its features are standard normal already), '
                             f'got preprocess={preprocess!r}')
        return vu2021('vu_data').get_synth(**kwargs)
    raise ValueError(f'dataset must be one of {DATASETS}, got {name!r}')


def load(config, one_hot):
    """(the splits of a run's --dataset, the fingerprint of its files) for a training script; a data problem ends the
    program in one line, before any training."""
    try:
        data = load_dataset(config.dataset, config.data_dir, seed=config.seed, preprocess=config.preprocess,
                            validation_size=config.validation_size, one_hot=one_hot)
        digest = fingerprint(config.dataset, config.data_dir)
    except (DataError, ValueError) as error:
        offline = ' (--dataset fake_cifar10 trains offline, on a stand-in)' if config.dataset == 'cifar10' else ''
        sys.exit(f'error: {error}{offline}')
    for split in ('train', 'test'):
        if data[split].num_examples == 0:
            sys.exit(f'error: the {split} split of {config.dataset} in {config.data_dir} holds no examples')
    if config.batch_size > data['train'].num_examples:
        sys.exit(f'error: --batch_size {config.batch_size} is larger than the training set '
                 f'({data["train"].num_examples} examples)')
    return data, digest


def held_out(data):
    """The evaluation splits in plotting order: validation (when there is one), then test."""
    return [name for name in ('validation', 'test') if data[name].num_examples]
