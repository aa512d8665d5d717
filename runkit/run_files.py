"""A run's folder and its files: the folder checked, locked and cleared for a run; atomic writes; metrics.json;
model files and checkpoints, and the checks that keep reading them bounded and free of unpickled code.

The torch functions import torch when called, so that the NumPy scripts never load it.
"""
import contextlib
import errno
import fcntl
import json
import math
import os
import shutil
import socket
import sys
import tempfile
import zipfile

import numpy as np

from runkit import datasets

# What a run leaves in its folder: a folder holding one of the first four holds a run, and --overwrite removes them
# all first, so that nothing of the old run (its model, its analysis) stays beside the new one.
RUN_FILES = ('metrics.json', 'checkpoint.pt', 'model.pt', 'model.npz', 'curves.png', 'analysis.json',
             'confusion_matrix.png', 'misclassified.png', 'first_layer.png', 'decision_boundary.png')
# Flags that say where or how fast a run goes, not what it computes: a resumed run may change them.
LOGISTICS = ('output_dir', 'overwrite', 'resume', 'data_dir', 'device', 'threads', 'torch_threads', 'timing')


def prepare_output_dir(folder, overwrite=False, resume=None):
    """Make folder ready for a run, before any data is loaded: it must not hold a run already (unless overwrite
    replaces it, or resume continues it), must be writable, and no other process may be running into it (the folder
    is locked for this one: lock_output_dir). A problem ends the program in one line. Nothing is removed here:
    overwrite clears the old run only when training starts (clear_old_run), after every other check has passed."""
    folder = str(folder)
    if overwrite and resume:
        sys.exit(f'error: --resume continues the run in {resume} and --overwrite would delete it; pass one of them')
    held = [name for name in RUN_FILES[:4] if os.path.exists(os.path.join(folder, name))]
    if held and not (overwrite or resume):
        sys.exit(f'error: --output_dir {folder} already holds a run ({held[0]}); pass --overwrite to replace '
                 f'it, or name another folder')
    try:
        os.makedirs(folder, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix='.write-test-'):
            pass
    except OSError as error:
        sys.exit(f'error: cannot write --output_dir {folder}: {error.strerror}')
    lock_output_dir(folder)


def prepare_output_dirs(folders, overwrite):
    """prepare_output_dir for each run folder of a study, before the study trains any of them."""
    for folder in folders:
        prepare_output_dir(folder, overwrite)


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


def save_torch_model(path, kind, config, model):
    """model.pt: the model's kind, the run's flags (enough to rebuild it) and its state_dict.
    torch.load(path, weights_only=True) reads it back; load_torch_file checks it."""
    write_atomically(path, lambda temporary: save_torch_file(
        {'kind': kind, 'config': config, 'state_dict': model.state_dict()}, temporary))


def save_torch_file(value, path):
    """torch.save, whose writer reports a failed write (a full disk) as a RuntimeError: here an OSError, as every
    other write of a run reports it, so that the run ends in one line."""
    import torch
    try:
        torch.save(value, path)
    except RuntimeError as error:
        if 'inline_container' not in str(error) and 'PytorchStreamWriter' not in str(error):  # not its writer
            raise
        raise OSError(errno.EIO, f'the write failed ({str(error).strip().splitlines()[-1].strip()})', path) from None


def load_torch_file(path, device='cpu'):
    """A model.pt or checkpoint.pt as a dict, loaded with weights_only=True: tensors and plain containers only, so
    a crafted file cannot run code, once check_model_archive has bounded what it expands to. Anything
    else is a ModelFileError."""
    import torch
    check_model_archive(path)
    try:
        loaded = torch.load(path, map_location=device, weights_only=True)
    except FileNotFoundError:
        raise ModelFileError(f'{path} does not exist') from None
    except Exception as error:  # pickled code, a truncated file, another format: all mean "not ours"
        raise ModelFileError(f'cannot load {path}: it holds more than tensors and plain containers, or '
                             f'it is damaged ({type(error).__name__}); it is not unpickled') from None
    if not isinstance(loaded, dict) or not {'kind', 'config'} <= set(loaded) or not isinstance(loaded['config'], dict):
        raise ModelFileError(f'cannot load {path}: not a model or checkpoint file of this project')
    return loaded


def load_state(module, state_dict, path):
    """module.load_state_dict, with a wrong architecture reported as a ModelFileError naming the file."""
    try:
        module.load_state_dict(state_dict)
    except (RuntimeError, KeyError, ValueError) as error:
        raise ModelFileError(f'{path} does not fit the {type(module).__name__} the flags describe: '
                             f'{str(error).strip().splitlines()[0]}') from None


def _as_compared(name, value):
    """A setting's value as a resumed run compares it: --batch_norm's booleans as the choices they mean (False:
    'none', True: 'torch'), no activation as LeakyReLU, a dataset and a generated set's fingerprint under the names
    datasets.DATASETS uses."""
    if name == 'batch_norm' and isinstance(value, bool):
        return 'torch' if value else 'none'
    if name == 'activation' and value is None:  # the runs from before --activation had only LeakyReLU
        return 'leaky_relu'
    if name == 'dataset':
        return datasets.canonical(value)
    return datasets.canonical_fingerprint(value) if name == 'data_fingerprint' else value


class Checkpoint:
    """What a PyTorch run needs to go on exactly where it stopped: model, optimiser, scheduler, the batch order and
    every random generator the run draws from (augmentation and dropout use torch's global one), with the metrics
    recorded so far. training_loop.train calls save (checkpoint.pt) and save_model (model.pt)."""

    def __init__(self, kind, config, model, optimizer, scheduler, batches):
        self.kind, self.config = kind, config
        self.model, self.optimizer, self.scheduler, self.batches = model, optimizer, scheduler, batches

    def save(self, folder, metrics, step):
        import torch
        on_gpu = self.config['device'].startswith('cuda')
        state = {'kind': self.kind, 'config': self.config, 'step': step, 'metrics': metrics,
                 'model': self.model.state_dict(), 'optimizer': self.optimizer.state_dict(),
                 'scheduler': self.scheduler.state_dict(), 'batches': self.batches.state_dict(),
                 'torch_rng': torch.get_rng_state(), 'cuda_rng': torch.cuda.get_rng_state_all() if on_gpu else []}
        write_atomically(os.path.join(folder, 'checkpoint.pt'), lambda path: save_torch_file(state, path))

    def save_model(self, folder):
        save_torch_model(os.path.join(folder, 'model.pt'), self.kind, self.config, self.model)

    def restore(self, folder, flags):
        """Load folder/checkpoint.pt into the model, optimiser, scheduler, batches and generators; returns
        (metrics, step) for training_loop.train's resumed. A completed run, or a run's setting that differs from
        this one's (named as a flag when it is one of `flags`), is a ModelFileError. A setting the checkpoint
        predates counts as off (None, False or 'none'): flags are added with the old behaviour as their default."""
        import torch
        path = os.path.join(folder, 'checkpoint.pt')
        state = load_torch_file(path)
        with model_file_errors(path):
            if state['kind'] != self.kind:
                raise ModelFileError(f'{path} is a checkpoint of {state["kind"]}, not of {self.kind}')
            if state['step'] >= state['config']['max_steps']:
                raise ModelFileError(f'the run in {folder} has completed; there is nothing to resume')
            for name in sorted((state['config'].keys() | self.config.keys()) - set(LOGISTICS)):
                value, ours = (_as_compared(name, config.get(name)) for config in (state['config'], self.config))
                if name not in state['config'] and ours in (None, False, 'none'):
                    continue
                if ours != value:
                    raise ModelFileError(
                        f'the run in {folder} was trained with {f"--{name}" if name in flags else name} {value}, '
                        f'not {ours}; resume it with its own flags')
            load_state(self.model, state['model'], path)
            self.optimizer.load_state_dict(state['optimizer'])
            self.scheduler.load_state_dict(state['scheduler'])
            self.batches.load_state_dict(state['batches'])
            torch.set_rng_state(state['torch_rng'])
            if state['cuda_rng']:
                torch.cuda.set_rng_state_all(state['cuda_rng'])
            return state['metrics'], state['step']
