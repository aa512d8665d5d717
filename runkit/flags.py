"""Command-line flags: argparse types that say in one line what they expected, the flags the training scripts
share and the choices they offer, and Config, the frozen settings of a run that the flags are settled into."""
import argparse
import math
import os
from collections.abc import Mapping

from cifar10_utils import PREPROCESSING
from runkit import datasets

DEVICES = ('auto', 'cpu', 'cuda')
BATCH_NORMS = ('none', 'torch', 'custom')  # none, nn.BatchNorm*, custom_batchnorm.CustomBatchNormManualModule
OPTIMIZERS = ('sgd', 'adam', 'adamw')
SCHEDULES = ('constant', 'step', 'cosine', 'onecycle')


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


class ArgumentParser(argparse.ArgumentParser):
    """argparse that reports a bad flag in one line instead of usage plus error."""

    def error(self, message):
        self.exit(2, f'{self.prog}: error: {message}\n')


def positive_int(text):
    value = _number(text, int)
    if value <= 0:
        raise argparse.ArgumentTypeError(f'expected a positive integer, got {text!r}')
    return value


def positive_float(text):
    value = _number(text, float)
    if not 0 < value < math.inf:
        raise argparse.ArgumentTypeError(f'expected a positive number, got {text!r}')
    return value


def non_negative_int(text):
    value = _number(text, int)
    if value < 0:
        raise argparse.ArgumentTypeError(f'expected an integer >= 0, got {text!r}')
    return value


def seed(text):
    """A random seed that numpy and torch both take: an integer in [0, 2**63)."""
    value = _number(text, int)
    if not 0 <= value < 2 ** 63:
        raise argparse.ArgumentTypeError(f'expected an integer in [0, 2**63), got {text!r}')
    return value


def view_shift(text):
    """Pixels a test-time view is moved by: 0 to 15, as a shift of half the 32-pixel image or more leaves a view
    that is mostly the zeros it is filled with."""
    value = non_negative_int(text)
    if value > 15:
        raise argparse.ArgumentTypeError(f'expected 0 to 15 pixels (half the image or more leaves a blank view), '
                                         f'got {text!r}')
    return value


def thread_count(text):
    """A positive number of threads, at most one per CPU: more only contend (a run is several times slower)."""
    value = positive_int(text)
    if value > (os.cpu_count() or 1):
        raise argparse.ArgumentTypeError(f'expected at most {os.cpu_count()}, the CPUs here, got {text!r}')
    return value


def non_negative_float(text):
    value = _number(text, float)
    if not 0 <= value < math.inf:
        raise argparse.ArgumentTypeError(f'expected a number >= 0, got {text!r}')
    return value


def unit_interval(text):
    value = _number(text, float)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f'expected a number in [0, 1], got {text!r}')
    return value


def fraction(text):
    value = _number(text, float)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f'expected a number in [0, 1), got {text!r}')
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
    """The argparse type of a flag that names one of `names`: another name for one of them (datasets.ALIASES) is
    taken for it; anything else is left for argparse to refuse as the user typed it."""
    def dataset(text):
        name = datasets.canonical(text)
        return name if name in names else text
    return dataset


def add_common_arguments(parser, *, learning_rate, max_steps, batch_size, eval_freq, output_dir,
                         dataset_names=datasets.CIFAR10_DATASETS):
    """The flags every training script has, with the script's own defaults."""
    parser.add_argument('--learning_rate', type=positive_float, default=learning_rate, help='learning rate')
    parser.add_argument('--max_steps', type=positive_int, default=max_steps, help='number of training steps')
    parser.add_argument('--epochs', type=positive_float, default=None,
                        help='train for this many passes over the training set instead of --max_steps')
    parser.add_argument('--batch_size', type=positive_int, default=batch_size, help='mini-batch size')
    parser.add_argument('--eval_freq', type=positive_int, default=eval_freq,
                        help='evaluate on the test set every this many steps (and at the last)'
                        + ('' if eval_freq else '; default: once per epoch'))
    parser.add_argument('--dense_steps', type=non_negative_int, default=0,
                        help='also evaluate after each of the first this many steps, to see how the run starts')
    default_folders = [f'{folder} for {name}' for name, folder in datasets.DEFAULT_DATA_DIRS.items()
                       if name in dataset_names]
    parser.add_argument('--data_dir', default=None,
                        help=f'the data folder, downloaded when missing; default: {", ".join(default_folders)}')
    aliases = ', '.join(f'{old} for {new}' for old, new in datasets.ALIASES.items() if new in dataset_names)
    parser.add_argument('--dataset', type=dataset_name(dataset_names), choices=dataset_names, default=dataset_names[0],
                        help='; '.join(f'{name}: {datasets.DATASET_DESCRIPTIONS[name]}' for name in dataset_names)
                        + (f' (also accepted: {aliases})' if aliases else ''))
    parser.add_argument('--preprocess', choices=PREPROCESSING, default='mean_image',
                        help="subtract the training set's mean image, or standardise each colour channel")
    parser.add_argument('--validation_size', type=non_negative_int, default=0,
                        help='hold out this many of the first training images as a validation split')
    parser.add_argument('--seed', type=seed, default=42,
                        help='random seed of the initialisation, the batch order and augmentation or dropout; '
                             'generated data (fake_cifar10, synth) stays the same')
    parser.add_argument('--output_dir', default=output_dir,
                        help='where the run goes: metrics.json, curves.png and the trained model')
    parser.add_argument('--overwrite', action='store_true', help='replace the run that --output_dir already holds')


def add_mlp_arguments(parser, output_dir):
    """The flags and defaults both MLP scripts share, so that one command gives comparable runs."""
    parser.add_argument('--dnn_hidden_units', type=int_list, default='100',
                        help='comma-separated hidden layer widths; empty for logistic regression')
    parser.add_argument('--neg_slope', type=unit_interval, default=0.02,
                        help='negative slope of LeakyReLU (0 gives ReLU)')
    parser.add_argument('--activation', choices=('leaky_relu', 'elu'), default='leaky_relu',
                        help="the hidden layers' activation: LeakyReLU (with --neg_slope) or ELU (which ignores "
                             "--neg_slope), as UvA 2020's network has it; default: %(default)s")
    parser.add_argument('--init', choices=('normal', 'kaiming'), default='normal',
                        help="weight initialisation: N(0, 1e-4^2) as in the assignment, or Kaiming's")
    add_common_arguments(parser, learning_rate=2e-3, max_steps=1500, batch_size=200, eval_freq=100,
                         output_dir=output_dir)


def add_torch_arguments(parser):
    """The flags of every script that trains with PyTorch: --device, --threads and --resume."""
    parser.add_argument('--device', choices=DEVICES, default='auto', help='auto takes the GPU when there is one')
    add_threads_argument(parser)
    parser.add_argument('--resume', metavar='RUN_DIR', default=None,
                        help='continue the interrupted run in RUN_DIR, with the same flags (RUN_DIR replaces '
                             '--output_dir)')


def add_threads_argument(parser):
    parser.add_argument('--threads', type=thread_count, default=None,
                        help="PyTorch's CPU threads (default: PyTorch's, one per core); 1 is much faster on a machine "
                             "whose cores other processes keep busy")


def add_optimiser_arguments(parser, *, optimizer, momentum):
    """--optimizer, --momentum, --weight_decay, --label_smoothing, --augment, --lr_schedule and --warmup_steps."""
    parser.add_argument('--optimizer', choices=OPTIMIZERS, default=optimizer)
    parser.add_argument('--momentum', type=non_negative_float, default=momentum, help='for sgd')
    parser.add_argument('--weight_decay', type=non_negative_float, default=0.0)
    parser.add_argument('--label_smoothing', type=fraction, default=0.0,
                        help='weight of the uniform distribution mixed into the targets (the train loss recorded is '
                             'the smoothed one)')
    parser.add_argument('--augment', action=argparse.BooleanOptionalAction, default=False,
                        help='random crops (4 pixels of padding) and horizontal flips of the training images')
    parser.add_argument('--lr_schedule', choices=SCHEDULES, default='constant',
                        help='learning-rate schedule over the run')
    parser.add_argument('--warmup_steps', type=non_negative_int, default=0,
                        help='steps of linear warm-up before the schedule')


def add_batch_norm_argument(parser, default):
    """--batch_norm {none,torch,custom}; a bare --batch_norm means torch."""
    parser.add_argument('--batch_norm', nargs='?', const='torch', choices=BATCH_NORMS, default=default,
                        help="batch norm after every hidden linear or convolutional layer: none, PyTorch's, or the "
                             "project's CustomBatchNormManualModule (a bare --batch_norm: torch)")
