"""Command-line flags: argparse types that say in one line what they expected, the flags the training scripts add
to their templates', and Config, the frozen settings of a run that the flags are settled into."""
import argparse
import math
import os
from collections.abc import Mapping

from cifar10_utils import PREPROCESSING
from runkit import ROOT, datasets

DEVICES = ('auto', 'cpu', 'cuda')


class Config(Mapping):
    """A run's settings, complete and read-only: config.name or config['name']; dict(config) is what metrics.json
    records. replace(name=value) makes a new Config, so that no reader sees a value change under it."""

    def __init__(self, values=(), **more):
        object.__setattr__(self, '_values', {**dict(values), **more})

    def __getattr__(self, name):
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(f'the run config has no {name!r}') from None

    def __setattr__(self, name, value):
        raise AttributeError(f'a run config is frozen; make a new one with replace({name}=...)')

    def __getitem__(self, name):
        return self._values[name]

    def __iter__(self):
        return iter(self._values)

    def __len__(self):
        return len(self._values)

    def replace(self, **changes):
        return Config(self._values, **changes)

    def __repr__(self):
        return f'Config({self._values!r})'


def _bounded(kind, within, expected):
    """An argparse type: text read as `kind` (int or float), refused in one line unless within(value)."""
    def flag_type(text):
        value = _number(text, kind)
        if not within(value):
            raise argparse.ArgumentTypeError(f'expected {expected}, got {text!r}')
        return value
    return flag_type


positive_int = _bounded(int, lambda value: value > 0, 'a positive integer')
positive_float = _bounded(float, lambda value: 0 < value < math.inf, 'a positive number')
non_negative_int = _bounded(int, lambda value: value >= 0, 'an integer >= 0')
non_negative_float = _bounded(float, lambda value: 0 <= value < math.inf, 'a number >= 0')
unit_interval = _bounded(float, lambda value: 0 <= value <= 1, 'a number in [0, 1]')
fraction = _bounded(float, lambda value: 0 <= value < 1, 'a number in [0, 1)')
# a random seed that numpy and torch both take
seed = _bounded(int, lambda value: 0 <= value < 2 ** 63, 'an integer in [0, 2**63)')
# pixels a test-time view is moved by: half the 32-pixel image or more leaves a blank view
view_shift = _bounded(int, lambda value: 0 <= value <= 15,
                      '0 to 15 pixels (half the image or more leaves a blank view)')


def thread_count(text):
    """A positive number of threads, at most one per CPU: more only contend (a run is several times slower)."""
    value = positive_int(text)
    if value > (os.cpu_count() or 1):
        raise argparse.ArgumentTypeError(f'expected at most {os.cpu_count()}, the CPUs here, got {text!r}')
    return value


def int_list(text):
    """'100,50' -> [100, 50]; '' -> [] (no hidden layer)."""
    parts = [part.strip() for part in text.split(',')] if text.strip() else []
    try:
        return [positive_int(part) for part in parts]
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f'expected comma-separated positive integers such as 100,50, got {text!r}') from None


def seed_list(text):
    """'0,1,2' -> [0, 1, 2]: distinct seeds >= 0 (each run has a folder of its own)."""
    try:
        seeds = [non_negative_int(part) for part in text.split(',')]
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f'expected comma-separated integers >= 0 such as 0,1,2, got {text!r}') from None
    if len(set(seeds)) != len(seeds):
        raise argparse.ArgumentTypeError(f'expected distinct seeds, got {text!r}')
    return seeds


def _number(text, kind):
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'expected {"an integer" if kind is int else "a number"}, '
                                         f'got {text!r}') from None


def dataset_name(names):
    """The argparse type of a flag naming one of `names`, which takes an alias (datasets.ALIASES) for its name."""
    def dataset(text):
        name = datasets.canonical(text)
        return name if name in names else text
    return dataset


def add_threads_argument(parser):
    """--threads, for what runs PyTorch."""
    parser.add_argument('--threads', type=thread_count, default=None,
                        help="PyTorch's CPU threads (default: PyTorch's, one per core); 1 is much faster on a machine "
                             "whose cores other processes keep busy")


def add_training_arguments(parser, dataset_names=datasets.CIFAR10_DATASETS, preprocess='mean_image', validation_size=0):
    """What the project adds to a template's flags, as a group of their own: --epochs, --dense_steps, --dataset,
    --preprocess, --validation_size and --seed."""
    group = parser.add_argument_group('beyond the template')
    group.add_argument('--epochs', type=positive_float, default=None,
                       help='train for this many passes over the training set instead of --max_steps')
    group.add_argument('--dense_steps', type=non_negative_int, default=0,
                       help='also evaluate after each of the first this many steps, to see how the run starts')
    aliases = ', '.join(f'{old} for {new}' for old, new in datasets.ALIASES.items() if new in dataset_names)
    group.add_argument('--dataset', type=dataset_name(dataset_names), choices=dataset_names, default=dataset_names[0],
                       help='; '.join(f'{name}: {datasets.DATASET_DESCRIPTIONS[name]}' for name in dataset_names)
                       + (f' (also accepted: {aliases})' if aliases else ''))
    group.add_argument('--preprocess', choices=PREPROCESSING, default=preprocess,
                       help="subtract the training set's mean image, or standardise each colour channel")
    group.add_argument('--validation_size', type=non_negative_int, default=validation_size,
                       help='hold out this many of the first training images as a validation split')
    group.add_argument('--seed', type=seed, default=42,
                       help='random seed of the initialisation, the batch order and augmentation or dropout; '
                            'generated data (fake_cifar10, synth) stays the same')


def data_dir_help(dataset_names):
    """The help of a script's --data_dir: each dataset's default folder."""
    folders = [f'{folder} for {name}' for name, folder in datasets.DEFAULT_DATA_DIRS.items() if name in dataset_names]
    return f'the data folder, downloaded when missing; default: {", ".join(folders)}'


def parse(parser, argv=None):
    """parser's flags as a frozen Config: from argv (default: the command line), or from an argparse Namespace of a
    template's FLAGS (those it lacks at their defaults, a flag it holds as text, such as --dnn_hidden_units
    '100,50', through its type); the dataset's default folder filled in, --resume's run folder as --output_dir."""
    if isinstance(argv, argparse.Namespace):
        types, args = {action.dest: action.type for action in parser._actions}, parser.parse_args([])
        for name, value in vars(argv).items():
            setattr(args, name, types[name](value) if isinstance(value, str) and types.get(name) else value)
    else:
        args = parser.parse_args(argv)
    values = dict(vars(args))
    default_dir = datasets.DEFAULT_DATA_DIRS.get(values['dataset'])
    # The root's copy, from whichever folder the script runs: one copy serves every offering's folder.
    values['data_dir'] = values['data_dir'] or (default_dir and os.path.relpath(os.path.join(ROOT, default_dir)))
    if values.get('resume'):
        if values['output_dir'] not in (parser.get_default('output_dir'), values['resume']):
            parser.error(f"--resume continues the run in {values['resume']} and writes there; --output_dir "
                         f"{values['output_dir']} names another folder: pass one of them")
        values['output_dir'] = values['resume']
    return Config(values)


def settle(config, num_train, fingerprint, **derived):
    """The config completed from the data: --epochs as max_steps (the incomplete last batch of an epoch is dropped),
    an --eval_freq left open as once per epoch, the data's fingerprint, and what the script derives (derived); a new
    frozen Config."""
    steps_per_epoch = num_train // config.batch_size
    max_steps = config.max_steps if config.epochs is None else max(1, round(config.epochs * steps_per_epoch))
    return config.replace(max_steps=max_steps, eval_freq=config.eval_freq or steps_per_epoch,
                          data_fingerprint=fingerprint, **derived)
