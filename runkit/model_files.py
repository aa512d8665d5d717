"""Model and checkpoint files: written atomically, read back without ever unpickling code, and bounded, so that a
crafted or damaged file can neither run code nor make the reader allocate more than the file holds.

model.npz (a NumPy model: Run.save_model writes it) holds the model's kind, the run's flags as JSON text and its
arrays; model.pt holds the kind, the flags and a PyTorch state_dict; checkpoint.pt what a PyTorch run needs to go on
exactly where it stopped (Checkpoint). The torch functions import torch when called, so that the NumPy scripts
never load it.
"""
import contextlib
import errno
import json
import math
import os
import stat
import zipfile

import numpy as np

from runkit import MAX_PARAMETERS, datasets, dense_parameters, write_atomically

# Flags that say where or how fast a run goes, not what it computes: a resumed run may change them.
LOGISTICS = ('output_dir', 'overwrite', 'resume', 'data_dir', 'device', 'threads', 'torch_threads', 'timing')
# What flags.settle() and the scripts add to a run's config from its data and its machine: no flag has these names.
DERIVED = ('data_fingerprint', 'steps_per_epoch', 'torch_threads', 'timing')

# A model or checkpoint file holds at most MAX_PARAMETERS float32 parameters with two optimiser moments each, and the
# few megabytes of a run's batch order and metrics.
MAX_MODEL_FILE_BYTES = 3 * 4 * MAX_PARAMETERS + 64 * 2 ** 20


class ModelFileError(ValueError):
    """A model or checkpoint file that cannot be used; the message says which file and why, in one line."""


def open_regular(path):
    """path opened for reading in binary, once and without blocking: a regular file, or a ValueError (a FIFO or a
    device would block or never end); an OSError when it cannot be opened."""
    file = os.fdopen(os.open(path, os.O_RDONLY | os.O_NONBLOCK), 'rb')
    if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
        file.close()
        raise ValueError('not a regular file')
    return file


def open_model_file(path):
    """path opened for reading, once (open_regular; anything else is a ModelFileError), checked by
    check_model_archive and then read from the same open file, so that no file swapped in at path in between is
    read."""
    try:
        return open_regular(path)
    except FileNotFoundError:
        raise ModelFileError(f'{path} does not exist') from None
    except OSError as error:
        raise ModelFileError(f'cannot open {path}: {error.strerror}') from None
    except ValueError:
        raise ModelFileError(f'{path} is not a regular file; expected a model or checkpoint file') from None


def check_model_archive(file, path):
    """Before np.load or torch.load reads the open file (an .npz or .pt file at path, both zip archives): every
    entry must be stored uncompressed, as np.savez and torch.save write them, and lie within the file, so that
    reading the file takes no more memory than the file takes on disk; the file must be at most
    MAX_MODEL_FILE_BYTES; and an entry that starts as an .npy file does, whatever its name, must hold exactly the
    array its header declares (numpy allocates what the header says before it reads). A ModelFileError says what
    is wrong; the file is left at its start."""
    try:
        size = os.fstat(file.fileno()).st_size
        if size > MAX_MODEL_FILE_BYTES:
            raise ModelFileError(f'{path} has {size:,} bytes; a model or checkpoint of this project has at most '
                                 f'{MAX_MODEL_FILE_BYTES:,}')
        with zipfile.ZipFile(file) as archive:
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
    except ModelFileError:
        raise
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as error:  # not an archive, or a damaged one
        raise ModelFileError(f'cannot load {path} as a model: {type(error).__name__}: {error}; it is not '
                             f'unpickled') from None
    file.seek(0)


def check_parameter_count(path, widths, held):
    """The layer widths a model file's flags describe must make the network of the `held` weights and biases its
    arrays hold (so that nothing larger is built than the file holds); a ModelFileError otherwise."""
    described = dense_parameters(widths)
    if described != held:
        raise ModelFileError(f'{path} does not fit the MLP the flags describe: layer widths {widths} make '
                             f'{described:,} weights and biases, the file holds {held:,}')


def load_npz_model(path):
    """(kind, config, {name: array}) of a model.npz. Never unpickles, so a crafted file cannot run code, and checks
    the archive first (check_model_archive); anything unreadable is a ModelFileError."""
    with open_model_file(path) as file:
        check_model_archive(file, path)
        try:
            with np.load(file, allow_pickle=False) as saved:
                arrays = {name: saved[name] for name in saved.files}
            kind, config = str(arrays.pop('kind')), json.loads(str(arrays.pop('config')))
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
    with open_model_file(path) as file:
        check_model_archive(file, path)
        try:
            loaded = torch.load(file, map_location=device, weights_only=True)
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


def read_json(path, max_bytes=64 * 2 ** 20):
    """The JSON value in the file at path, read once: a regular file (a FIFO would block) of at most max_bytes, nested
    no deeper than Python's recursion limit; a ValueError says which of these it is not (an OSError that it cannot
    be opened)."""
    with open_regular(path) as file:
        size = os.fstat(file.fileno()).st_size
        if size > max_bytes:
            raise ValueError(f'{size:,} bytes, more than {max_bytes:,}')
        text = file.read(max_bytes + 1)
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError('nested deeper than any JSON this project writes') from None


def run_record(folder):
    """The metrics.json in folder (a run's or a study's) as a dict; None when there is none or it cannot be read."""
    try:
        record = read_json(os.path.join(folder, 'metrics.json'))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def run_status(folder):
    """How the run in folder ended, as its metrics.json says ('completed', 'interrupted', 'running' for a run killed
    outright, ...); None when there is no readable metrics.json."""
    status = (run_record(folder) or {}).get('status')
    return status if isinstance(status, str) else None


def _completed(folder):
    """Whether folder's metrics.json says its run completed: a run killed after its last step but before that (while
    it wrote its model) has all its steps in the checkpoint, and --resume finishes it."""
    return run_status(folder) == 'completed'


def as_compared(name, value):
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
    """What a PyTorch run needs to go on exactly where it stopped: its state objects (model, optimiser, scheduler,
    batches: their state_dict(); a plain dict as it is), every random generator the run draws from (augmentation
    and dropout use torch's global one), the steps done and the metrics recorded so far. Run.training makes one."""

    def __init__(self, kind, config, state):
        self.kind, self.config, self.state = kind, config, state

    def save(self, folder, metrics, step):
        import torch
        on_gpu = str(self.config.get('device', '')).startswith('cuda')
        saved = {name: dict(value) if isinstance(value, dict) else value.state_dict()
                 for name, value in self.state.items()}
        saved.update(kind=self.kind, config=dict(self.config), step=step, metrics=metrics,
                     torch_rng=torch.get_rng_state(), cuda_rng=torch.cuda.get_rng_state_all() if on_gpu else [])
        write_atomically(os.path.join(folder, 'checkpoint.pt'), lambda path: save_torch_file(saved, path))

    def restore(self, folder):
        """Load folder/checkpoint.pt into the state objects and the generators; returns (metrics, step). A completed
        run, or a setting of the run's that differs from this one's, ends the program in one line. A setting the
        checkpoint predates counts as off (None, False or 'none'): flags are added with the old behaviour as their
        default. A setting this script does not have cannot make it train otherwise: UvA 2020's scripts have no
        --neg_slope, which their ELU ignores, where their runs before recorded one. A dict state the checkpoint
        predates is the one its config held (the ConvNet's timing)."""
        import torch
        path = os.path.join(folder, 'checkpoint.pt')
        try:
            saved = load_torch_file(path)
            with model_file_errors(path):
                if saved['kind'] != self.kind:
                    raise ModelFileError(f'{path} is a checkpoint of {saved["kind"]}, not of {self.kind}')
                if saved['step'] >= saved['config']['max_steps'] and _completed(folder):
                    raise ModelFileError(f'the run in {folder} has completed; there is nothing to resume')
                for name in sorted(self.config.keys() - set(LOGISTICS)):
                    value, ours = (as_compared(name, config.get(name)) for config in (saved['config'], self.config))
                    if name not in saved['config'] and ours in (None, False, 'none'):
                        continue
                    if ours != value:
                        raise ModelFileError(
                            f'the run in {folder} was trained with {name if name in DERIVED else f"--{name}"} '
                            f'{value}, not {ours}; resume it with its own flags')
                for name, value in self.state.items():
                    if isinstance(value, dict):
                        value.update(saved[name] if name in saved else saved['config'].get(name, {}))
                    elif isinstance(value, torch.nn.Module):
                        load_state(value, saved[name], path)
                    else:
                        value.load_state_dict(saved[name])
                torch.set_rng_state(saved['torch_rng'])
                if saved['cuda_rng']:
                    torch.cuda.set_rng_state_all(saved['cuda_rng'])
        except ModelFileError as error:
            raise SystemExit(f'error: --resume: {error}') from None
        return saved['metrics'], saved['step']
