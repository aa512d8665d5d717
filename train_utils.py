"""What the training scripts share: flags, data loading, the loop, metrics.json and the curve plot."""
import argparse
import contextlib
import fcntl
import json
import math
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
import zipfile

import numpy as np
from tqdm import tqdm

import cifar10_utils


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


def _number(text, kind):
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'expected {"an integer" if kind is int else "a number"}, '
                                         f'got {text!r}') from None


def add_common_arguments(parser, *, learning_rate, max_steps, batch_size, eval_freq, output_dir,
                         datasets=cifar10_utils.CIFAR10_DATASETS):
    """The flags every training script has, with the script's own defaults."""
    parser.add_argument('--learning_rate', type=positive_float, default=learning_rate, help='learning rate')
    parser.add_argument('--max_steps', type=positive_int, default=max_steps, help='number of training steps')
    parser.add_argument('--epochs', type=positive_float, default=None,
                        help='train for this many passes over the training set instead of --max_steps')
    parser.add_argument('--batch_size', type=positive_int, default=batch_size, help='mini-batch size')
    parser.add_argument('--eval_freq', type=positive_int, default=eval_freq,
                        help='evaluate on the test set every this many steps (and at the last)'
                        + ('' if eval_freq else '; default: once per epoch'))
    default_folders = [f'{folder} for {name}' for name, folder in cifar10_utils.DEFAULT_DATA_DIRS.items()
                       if name in datasets]
    parser.add_argument('--data_dir', default=None,
                        help=f'the data folder, downloaded when missing; default: {", ".join(default_folders)}')
    parser.add_argument('--dataset', choices=datasets, default=datasets[0],
                        help='; '.join(f'{name}: {cifar10_utils.DATASET_DESCRIPTIONS[name]}' for name in datasets))
    parser.add_argument('--preprocess', choices=cifar10_utils.PREPROCESSING, default='mean_image',
                        help="subtract the training set's mean image, or standardise each colour channel")
    parser.add_argument('--validation_size', type=non_negative_int, default=0,
                        help='hold out this many of the first training images as a validation split')
    parser.add_argument('--seed', type=seed, default=42,
                        help='random seed of the initialisation, the batch order and augmentation or dropout; '
                             'the synthetic data stays the same')
    parser.add_argument('--output_dir', default=output_dir,
                        help='where the run goes: metrics.json, curves.png and the trained model')
    parser.add_argument('--overwrite', action='store_true', help='replace the run that --output_dir already holds')


def add_mlp_arguments(parser, output_dir):
    """The flags and defaults both MLP scripts share, so that one command gives comparable runs."""
    parser.add_argument('--dnn_hidden_units', type=int_list, default='100',
                        help='comma-separated hidden layer widths; empty for logistic regression')
    parser.add_argument('--neg_slope', type=unit_interval, default=0.02,
                        help='negative slope of LeakyReLU (0 gives ReLU)')
    parser.add_argument('--init', choices=('normal', 'kaiming'), default='normal',
                        help="weight initialisation: N(0, 1e-4^2) as in the assignment, or Kaiming's")
    add_common_arguments(parser, learning_rate=2e-3, max_steps=1500, batch_size=200, eval_freq=100,
                         output_dir=output_dir)


def load_data(args, **kwargs):
    """The splits for args.dataset; a data problem ends the program with its one-line message.

    Also checks --output_dir before any training (check_output_dir), records the data's fingerprint in
    args.data_fingerprint, and turns --epochs into args.max_steps (incomplete last batches are dropped).
    """
    check_output_dir(args)
    args.data_dir = args.data_dir or cifar10_utils.DEFAULT_DATA_DIRS.get(args.dataset)
    try:
        data = cifar10_utils.load_dataset(args.dataset, args.data_dir, seed=args.seed,
                                          preprocess=args.preprocess, validation_size=args.validation_size,
                                          **kwargs)
        args.data_fingerprint = cifar10_utils.fingerprint(args.dataset, args.data_dir)
    except (cifar10_utils.DataError, ValueError) as error:
        sys.exit(f'error: {error}')
    for split in ('train', 'test'):
        if data[split].num_examples == 0:
            sys.exit(f'error: the {split} split of {args.dataset} in {args.data_dir} holds no examples')
    num_train = data['train'].num_examples
    if args.batch_size > num_train:
        sys.exit(f'error: --batch_size {args.batch_size} is larger than the training set ({num_train} examples)')
    if args.epochs is not None:
        args.max_steps = max(1, round(args.epochs * (num_train // args.batch_size)))
    return data


# What a run leaves in its folder: a folder holding one of the first four holds a run, and --overwrite removes them
# all first, so that nothing of the old run (its model, its analysis) stays beside the new one.
RUN_FILES = ('metrics.json', 'checkpoint.pt', 'model.pt', 'model.npz', 'curves.png', 'analysis.json',
             'confusion_matrix.png', 'misclassified.png', 'first_layer.png', 'decision_boundary.png')
# Flags that say where or how fast a run goes, not what it computes: a resumed run may change them.
LOGISTICS = ('output_dir', 'overwrite', 'resume', 'data_dir', 'device', 'threads', 'torch_threads', 'timing')


def check_output_dir(args):
    """--output_dir must not hold a run already (unless --overwrite replaces it, or --resume continues it), must be
    writable, and no other process may be running into it (the folder is locked for this one: lock_output_dir). A
    problem ends the program in one line. Nothing is removed here: --overwrite clears the old run only when
    training starts (clear_old_run), after every other check has passed."""
    folder, resume = args.output_dir, getattr(args, 'resume', None)
    if args.overwrite and resume:
        sys.exit(f'error: --resume continues the run in {resume} and --overwrite would delete it; pass one of them')
    held = [name for name in RUN_FILES[:4] if os.path.exists(os.path.join(folder, name))]
    if held and not (args.overwrite or resume):
        sys.exit(f'error: --output_dir {folder} already holds a run ({held[0]}); pass --overwrite to replace '
                 f'it, or name another folder')
    try:
        os.makedirs(folder, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix='.write-test-'):
            pass
    except OSError as error:
        sys.exit(f'error: cannot write --output_dir {folder}: {error.strerror}')
    lock_output_dir(folder)


def check_output_dirs(folders, overwrite):
    """check_output_dir for each run folder of a study, before the study trains any of them."""
    for folder in folders:
        check_output_dir(argparse.Namespace(output_dir=str(folder), overwrite=overwrite))


def clear_old_run(folder, overwrite):
    """With overwrite, remove every file of the run that folder holds (its model and analysis too), so that
    nothing of it stays beside the new one. Called when training starts, once every check has passed."""
    if overwrite:
        for name in RUN_FILES:
            if os.path.exists(os.path.join(folder, name)):
                os.remove(os.path.join(folder, name))


LOCK_FILE = '.run.lock'
_held_locks = {}  # real path of a folder: the open lock file by which this process holds it


def lock_output_dir(folder):
    """Hold an exclusive lock on folder for the rest of this process (or until release_output_dir): another process
    that asks for it is refused in one line naming this one. The lock is the operating system's (flock), so it
    dies with the process: a killed run leaves no folder locked. This process may ask again for a folder it holds."""
    key = os.path.realpath(folder)
    if key in _held_locks:
        return
    try:
        lock = open(os.path.join(folder, LOCK_FILE), 'a+')
    except OSError as error:
        sys.exit(f'error: cannot lock --output_dir {folder} ({LOCK_FILE}): {error.strerror}')
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        lock.seek(0)
        holder = lock.read().strip() or 'another process'
        lock.close()
        sys.exit(f'error: --output_dir {folder} is in use by a run still going on ({holder}); wait for it to end, '
                 f'or name another folder')
    lock.truncate(0)
    lock.write(f'process {os.getpid()} on {socket.gethostname()}')
    lock.flush()
    _held_locks[key] = lock


def release_output_dir(folder):
    """Give up the lock lock_output_dir took on folder, if this process holds it."""
    lock = _held_locks.pop(os.path.realpath(folder), None)
    if lock:
        lock.close()


def write_atomically(path, write):
    """write(temporary_path), then rename the file to path, so that a crash or a full disk mid-write never leaves
    a truncated file where a good one was. The temporary file sits in path's folder and keeps its extension. An
    OSError names path, not the temporary file."""
    folder, name = os.path.split(path)
    root, extension = os.path.splitext(name)
    temporary = os.path.join(folder, f'.{root}.{os.getpid()}.tmp{extension}')
    try:
        write(temporary)
        with open(temporary, 'rb') as f:
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except OSError as error:
        raise OSError(error.errno, error.strerror, str(path)) from error
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


class ModelFileError(ValueError):
    """A model or checkpoint file that cannot be used; the message says which file and why, in one line."""


# Ten times the largest network the package trains (the ConvNet's 9.2 million parameters).
MAX_PARAMETERS = 100_000_000
# A model or checkpoint file holds at most that many float32 parameters with two optimiser moments each, and the
# few megabytes of a run's batch order and metrics.
MAX_MODEL_FILE_BYTES = 3 * 4 * MAX_PARAMETERS + 64 * 2 ** 20


def dense_parameters(widths):
    """The weights and biases of fully connected layers of widths (inputs, hidden..., outputs)."""
    return sum((fan_in + 1) * fan_out for fan_in, fan_out in zip(widths, widths[1:]))


def check_network_size(widths):
    """The parameters of an MLP of layer widths (inputs, hidden..., classes); ends the program in one line when
    they would be more than MAX_PARAMETERS, before any of them is allocated."""
    count = dense_parameters(widths)
    if count > MAX_PARAMETERS:
        sys.exit(f'error: --dnn_hidden_units {",".join(map(str, widths[1:-1]))} makes {count:,} parameters on '
                 f'{widths[0]} inputs; expected at most {MAX_PARAMETERS:,}')
    return count


def check_room(folder, model_bytes, copies):
    """Ends the program in one line, before training, when folder's file system has no room for what the run
    writes: `copies` times its model's bytes (model, checkpoint and optimiser state, and the temporary copy an
    atomic write makes beside the old file) and 16 MiB for its metrics and figures."""
    needed, free = copies * model_bytes + 16 * 2 ** 20, shutil.disk_usage(folder).free
    if free < needed:
        sys.exit(f'error: --output_dir {folder} has {free / 2 ** 20:,.0f} MiB free; the run writes up to '
                 f'{needed / 2 ** 20:,.0f} MiB')


def check_model_archive(path):
    """Before np.load or torch.load reads path (an .npz or .pt file, both zip archives): every entry must be stored
    uncompressed, as np.savez and torch.save write them, and lie within the file, so that reading the file takes no
    more memory than the file takes on disk; the file must be at most MAX_MODEL_FILE_BYTES; and an entry that starts
    as an .npy file does, whatever its name, must hold exactly the array its header declares (numpy allocates what
    the header says before it reads). A ModelFileError says what is wrong."""
    try:
        size = os.path.getsize(path)
        if size > MAX_MODEL_FILE_BYTES:
            raise ModelFileError(f'{path} has {size:,} bytes; a model or checkpoint of this project has at most '
                                 f'{MAX_MODEL_FILE_BYTES:,}')
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
            compressed = [entry.filename for entry in entries if entry.compress_type != zipfile.ZIP_STORED]
            if compressed:
                raise ModelFileError(f'cannot load {path}: {compressed[0]} is compressed, where np.savez and '
                                     f'torch.save store their entries as they are')
            if sum(entry.file_size for entry in entries) > size:
                raise ModelFileError(f'cannot load {path}: its entries declare more bytes than the file has')
            for entry in entries:
                with archive.open(entry) as member:  # np.load reads any entry that starts so as an array
                    if member.read(len(np.lib.format.MAGIC_PREFIX)) != np.lib.format.MAGIC_PREFIX:
                        continue
                    member.seek(0)
                    version = np.lib.format.read_magic(member)
                    shape, _, dtype = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                                       else np.lib.format.read_array_header_2_0)(member)
                    declared = member.tell() + math.prod(shape) * dtype.itemsize
                if dtype.hasobject:
                    raise ModelFileError(f'cannot load {path}: {entry.filename} holds Python objects, which '
                                         f'np.load(allow_pickle=False) does not unpickle')
                if declared != entry.file_size:
                    raise ModelFileError(f'cannot load {path}: {entry.filename} declares an array of {shape} '
                                         f'{dtype}, but holds {entry.file_size:,} bytes')
    except FileNotFoundError:
        raise ModelFileError(f'{path} does not exist') from None
    except ModelFileError:
        raise
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as error:  # not an archive, or a damaged one
        raise ModelFileError(f'cannot load {path} as a model: {type(error).__name__}: {error}; it is not '
                             f'unpickled') from None


def check_parameter_count(path, widths, held):
    """The layer widths a model file's flags describe must make the network of the `held` weights and biases its
    arrays hold (so that nothing larger is built than the file holds); a ModelFileError otherwise."""
    described = dense_parameters(widths)
    if described != held:
        raise ModelFileError(f'{path} does not fit the MLP the flags describe: layer widths {widths} make '
                             f'{described:,} weights and biases, the file holds {held:,}')


def save_npz_model(path, kind, config, arrays):
    """A NumPy model as plain arrays in an .npz: its kind, its flags as JSON text, and {name: array}.
    np.load(path, allow_pickle=False) reads it back; load_npz_model checks it."""
    write_atomically(path, lambda temporary: np.savez(temporary, kind=np.array(kind),
                                                      config=np.array(json.dumps(config)), **arrays))


def load_npz_model(path):
    """(kind, config, {name: array}) of a file that save_npz_model wrote. Never unpickles, so a crafted file cannot
    run code, and checks the archive first (check_model_archive); anything unreadable is a ModelFileError."""
    check_model_archive(path)
    try:
        with np.load(path, allow_pickle=False) as saved:
            arrays = {name: saved[name] for name in saved.files}
        kind, config = str(arrays.pop('kind')), json.loads(str(arrays.pop('config')))
    except FileNotFoundError:
        raise ModelFileError(f'{path} does not exist') from None
    except Exception as error:  # pickled objects, a truncated archive, missing entries: all mean "not ours"
        raise ModelFileError(f'cannot load {path} as a model: {type(error).__name__}: {error}') from None
    if not isinstance(config, dict):
        raise ModelFileError(f'cannot load {path} as a model: its config is not a dict of flags')
    return kind, config, arrays


@contextlib.contextmanager
def model_file_errors(path):
    """A context in which building a model from a file's flags and arrays turns whatever a malformed file makes
    go wrong (a missing flag or array, a wrong type or shape) into a one-line ModelFileError."""
    try:
        yield
    except ModelFileError:
        raise
    except (KeyError, TypeError, AttributeError, ValueError, IndexError, RuntimeError) as error:
        message = str(error).strip().splitlines()
        raise ModelFileError(f'{path} does not hold the model its flags describe: {type(error).__name__}'
                             + (f': {message[0]}' if message else '')) from None


def held_out_splits(data):
    """The evaluation splits in plotting order: validation (when there is one), then test."""
    return [name for name in ('validation', 'test') if data[name].num_examples]


class Diverged(ArithmeticError):
    """The training loss is no longer finite; .metrics is what was recorded (and written) until then."""

    def __init__(self, message, metrics):
        super().__init__(message)
        self.metrics = metrics


@contextlib.contextmanager
def stop_requests():
    """While active, Ctrl-C (SIGINT) and SIGTERM (kill, a batch scheduler about to preempt the job) ask the training
    loop to stop after its current step, so that what it writes is a consistent state. Yields the list the
    requests go into; a second request stops at once, with a KeyboardInterrupt, and later ones are ignored, so that
    the stop can clean up after itself."""
    requests = []

    def request(signal_number, frame):
        requests.append(signal.Signals(signal_number).name)
        if len(requests) == 1:
            tqdm.write(f'{requests[0]}: stopping after this step (once more to stop at once)', file=sys.stderr)
        elif len(requests) == 2:
            raise KeyboardInterrupt

    if threading.current_thread() is not threading.main_thread():  # only the main thread may take signals
        yield requests
        return
    previous = {number: signal.signal(number, request) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield requests
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def train(config, train_step, evaluate, max_steps, eval_freq, output_dir, save_model=None, checkpoint=None,
          resumed=None, curves=True):
    """Run train_step for max_steps steps, evaluate now and then, and write what was recorded.

    train_step(step) -> (loss, accuracy) of its batch, computed before the update;
    evaluate() -> {'test': (loss, accuracy), ...} for every held-out split.
    Evaluates after the first step, every eval_freq steps and after the last.
    metrics.json and curves.png are written even when the loss diverges or the run is interrupted (by Ctrl-C or
    SIGTERM: see stop_requests), with 'status' saying which; a diverged run raises Diverged after writing, an
    interrupted one KeyboardInterrupt. save_model(folder) writes the model once the run has completed;
    checkpoint(folder, metrics, step) writes what it takes to continue after `step`, at every evaluation and when
    the run is interrupted between steps. resumed = (metrics, step) from such a checkpoint continues that run.
    curves=False leaves curves.png out, for a study that keeps only its runs' metrics. Returns the metrics dict.
    """
    metrics = {'config': config, 'status': 'running', 'steps': [], 'train_loss': [], 'train_accuracy': []}
    done, earlier_seconds = 0, 0.0
    if resumed:
        metrics, done = {**resumed[0], 'config': config, 'status': 'running'}, resumed[1]
        metrics.pop('interrupted_after_step', None)
        metrics['resumed_after_steps'] = metrics.get('resumed_after_steps', []) + [done]
        earlier_seconds = metrics['wall_time_s']
    start = time.perf_counter()

    def elapsed():
        return earlier_seconds + time.perf_counter() - start

    # A second Ctrl-C can interrupt a step halfway (an update applied, the scheduler not yet stepped): no
    # checkpoint may be written from there, only from between two steps.
    between_steps = True
    # The requests are taken until the run's files are written: a second one during the writes ends them cleanly
    # (write_atomically leaves the previous file whole and no temporary one), never the default kill.
    with stop_requests() as stop:
        try:
            with tqdm(range(done + 1, max_steps + 1), initial=done, total=max_steps, desc='training', unit='step',
                      dynamic_ncols=True) as bar:
                for step in bar:
                    between_steps = False
                    loss, accuracy = train_step(step)
                    if not math.isfinite(loss):
                        metrics['status'] = 'diverged'
                        metrics['diverged_at_step'] = step
                        raise Diverged(f'the training loss became {loss} at step {step}', metrics)
                    if step == 1 or step % eval_freq == 0 or step == max_steps:
                        _record(metrics, step, {'train': (loss, accuracy), **evaluate()})
                        bar.set_postfix(loss=f'{loss:.3f}', test_acc=f'{metrics["test_accuracy"][-1]:.3f}')
                        if checkpoint:
                            metrics['wall_time_s'] = elapsed()
                            checkpoint(output_dir, metrics, step)
                    done, between_steps = step, True
                    if stop and step < max_steps:
                        raise KeyboardInterrupt
            if save_model:  # before the status: a run whose model could not be written has not completed
                save_model(output_dir)
            metrics['status'] = 'completed'
        except KeyboardInterrupt:
            metrics['status'] = 'interrupted'
            metrics['interrupted_after_step'] = done
            if checkpoint and between_steps:
                metrics['wall_time_s'] = elapsed()
                checkpoint(output_dir, metrics, done)
            raise
        finally:
            if metrics['status'] == 'running':
                metrics['status'] = 'failed'
            metrics['wall_time_s'] = elapsed()
            save_run(metrics, output_dir, curves)
    return metrics


class Interrupted(SystemExit):
    """How a run stopped by Ctrl-C or SIGTERM ends the program: in one line, which says where what was recorded is.
    A study catches it to keep what its finished runs found."""


@contextlib.contextmanager
def training_into(args):
    """The run's folder while it trains: cleared first of the old run with --overwrite (every check has passed by
    now), given up at the end (release_output_dir); a file that cannot be written ends the program in one line."""
    folder = args.output_dir
    clear_old_run(folder, args.overwrite)
    try:
        yield
    except OSError as error:
        name = os.path.basename(error.filename) if error.filename else 'a file'
        sys.exit(f'error: could not write {name} into {folder}: {error.strerror or error}; the run did not complete')
    finally:
        release_output_dir(folder)


def train_and_report(config, train_step, evaluate, args, **saving):
    """train() with the script's flags (and train's save_model, checkpoint, resumed and curves) into args.output_dir
    (training_into); prints the outcome, or ends the program in one line on divergence, interruption or a failed
    write."""
    with training_into(args):
        try:
            metrics = train(config, train_step, evaluate, args.max_steps, args.eval_freq, args.output_dir, **saving)
        except Diverged as error:
            sys.exit(f'error: {error}; try a smaller --learning_rate. What was recorded is in {args.output_dir}')
        except KeyboardInterrupt:
            resumable = saving.get('checkpoint') and os.path.exists(os.path.join(args.output_dir, 'checkpoint.pt'))
            raise Interrupted(f'interrupted; what was recorded is in {args.output_dir}'
                              + (f'; to continue, run the same command with --resume {args.output_dir}' if resumable
                                 else '')) from None
    print(f'final test accuracy {metrics["final_test_accuracy"]:.4f} '
          f'(best {metrics["best_test_accuracy"]:.4f}, selected on the test set) in {metrics["wall_time_s"]:.1f} s; '
          f'the run is in {args.output_dir}')
    return metrics


def train_past_divergence(config, train_step, evaluate, args, **saving):
    """train() with the script's flags, for a search that goes on when one of its runs diverges: that run's
    metrics (status 'diverged') are written and returned like any other's, and a line says so."""
    with training_into(args):
        try:
            return train(config, train_step, evaluate, args.max_steps, args.eval_freq, args.output_dir, **saving)
        except Diverged as error:
            print(f'{error}; recorded as diverged in {args.output_dir}')
            return error.metrics
        except KeyboardInterrupt:
            raise Interrupted(f'interrupted; what was recorded is in {args.output_dir}') from None


def _record(metrics, step, results):
    metrics['steps'].append(step)
    for split, (loss, accuracy) in results.items():
        metrics.setdefault(f'{split}_loss', []).append(float(loss))
        metrics.setdefault(f'{split}_accuracy', []).append(float(accuracy))


def save_run(metrics, output_dir, curves=True):
    """Write metrics.json (with the summary figures) and, with curves, curves.png into output_dir."""
    test = metrics.get('test_accuracy', [])
    metrics['final_test_accuracy'] = test[-1] if test else None
    metrics['best_test_accuracy'] = max(test) if test else None
    os.makedirs(output_dir, exist_ok=True)
    write_atomically(os.path.join(output_dir, 'metrics.json'), lambda path: write_json(path, metrics))
    if curves:
        write_atomically(os.path.join(output_dir, 'curves.png'), lambda path: plot_curves(metrics, path))


def write_json(path, value):
    """value as JSON, every NaN or infinity (a diverged loss) written as null, which JSON has, where Python would
    write NaN, which it has not."""
    with open(path, 'w') as f:
        json.dump(_finite_or_none(value), f, indent=1, allow_nan=False)


def _finite_or_none(value):
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite_or_none(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_or_none(item) for item in value]
    return value


def curve_labels(config):
    """Legends of the loss and the accuracy curves, per split.

    The training curves are measured on the current batch, as dropout and augmentation change it, and with label
    smoothing the training loss is not the plain cross-entropy of the held-out splits.
    """
    changes = ([f'dropout {config["dropout"]:g}'] if config.get('dropout') else []) + \
              (['crops and flips'] if config.get('augment') else [])
    batch = 'current batch' + (f'\n({", ".join(changes)})' if changes else '')
    smoothing = config.get('label_smoothing')
    train_loss = f'label-smoothed ({smoothing:g}) cross-entropy' if smoothing else 'cross-entropy'
    return {'loss': {'train': f'train: {train_loss},\n{batch}', 'validation': 'validation: cross-entropy',
                     'test': 'test: cross-entropy, whole set'},
            'accuracy': {'train': f'train: {batch}', 'validation': 'validation', 'test': 'test: whole set'}}


def plot_curves(metrics, path):
    """Loss and accuracy against step, one line per split, side by side."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    splits = [split for split in ('train', 'validation', 'test') if f'{split}_loss' in metrics]
    labels = curve_labels(metrics['config'])
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, quantity in zip(axes, ('loss', 'accuracy')):
        for split in splits:
            ax.plot(metrics['steps'], metrics[f'{split}_{quantity}'], marker='.', label=labels[quantity][split])
        ax.set_xlabel('training step')
        ax.set_ylabel(quantity)
        ax.grid(alpha=0.3)
        ax.legend(fontsize='small')
    title = os.path.basename(os.path.dirname(os.path.abspath(path)))
    if metrics.get('final_test_accuracy') is not None:
        title += f': final test accuracy {metrics["final_test_accuracy"]:.3f}'
    if metrics.get('status') not in (None, 'completed'):
        title += f' ({metrics["status"]})'
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
