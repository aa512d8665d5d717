"""Run-keeping for a training loop that stays the script's own: a Run locks the run's folder, records every evaluation
into metrics.json and curves.png, stops between two steps on Ctrl-C or SIGTERM, records how the run ended (a
divergence: raise runkit.Diverged), checkpoints and resumes PyTorch runs exactly, and writes the trained model.

    def main(argv=None):
        config = parse_flags(argv)
        with runkit.Run(config) as run:          # --output_dir checked and locked; a stop or failure: one line
            return train(config, run)

    def train(config, run=None):
        run = run or runkit.Run()                 # without a folder: the run is kept in memory
        ...                                       # data, model, optimiser
        with run.training('mlp_pytorch', config, model=model, optimizer=optimizer):  # checkpointed state
            for step in run.progress(range(run.step + 1, config.max_steps + 1)):
                ...                               # batch, forward, loss, backward, update
                if run.evaluates(step):
                    run.log(step, train=(loss, accuracy), test=evaluate(model, test_set))
            run.save_model(model)
        return run.metrics
"""
import argparse
import contextlib
import fcntl
import hashlib
import importlib.util
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

from tqdm import tqdm

# What a run leaves in its folder: a folder holding one of the first four holds a run, and --overwrite removes them
# all first, so that nothing of the old run (its model, its analysis) stays beside the new one.
RUN_FILES = ('metrics.json', 'checkpoint.pt', 'model.pt', 'model.npz', 'curves.png', 'analysis.json',
             'confusion_matrix.png', 'misclassified.png', 'first_layer.png', 'decision_boundary.png')
LOCK_FILE = '.run.lock'
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Ten times the largest network the project trains (the ConvNet's 9.2 million parameters).
MAX_PARAMETERS = 100_000_000
# At most this share of a run's time goes into redrawing its curves at evaluations (the last drawing always happens).
CURVES_SHARE = 0.05


class ArgumentParser(argparse.ArgumentParser):
    """argparse that reports a bad flag in one line instead of usage plus error."""

    def error(self, message):
        self.exit(2, f'{self.prog}: error: {message}\n')


def add_run_arguments(parser, output_dir, resume=False):
    """The flags a Run reads, as a group of their own: --output_dir, --overwrite and (to checkpoint) --resume."""
    group = parser.add_argument_group('the run (runkit)')
    group.add_argument('--output_dir', default=output_dir,
                       help='where the run goes: metrics.json, curves.png and the trained model (default: %(default)s)')
    group.add_argument('--overwrite', action='store_true', help='replace the run that --output_dir already holds')
    if resume:
        group.add_argument('--resume', metavar='RUN_DIR', default=None,
                           help='continue the interrupted run in RUN_DIR, with the same flags (RUN_DIR replaces '
                                '--output_dir)')


class Diverged(ArithmeticError):
    """The training loss is no longer finite: raise it from the loop, and the run is recorded as diverged."""

    def __init__(self, loss, step):
        super().__init__(f'the training loss became {loss} at step {step}')
        self.step = step


class Interrupted(SystemExit):
    """How a run stopped by Ctrl-C or SIGTERM ends the program, in one line (a study catches it to keep its runs)."""


class Run:
    """A run and its folder. Run(config) checks and locks config's output_dir (prepare_output_dir; with overwrite
    and resume, add_run_arguments' flags) before any data is loaded; an old run is cleared when training() starts.
    Run() keeps a run in memory; curves=False leaves curves.png out. Leaving `with Run(...)` gives the folder up and
    turns a divergence, a stop request or a failed write into a one-line exit that says where the run is."""

    def __init__(self, config=None, curves=True):
        self.curves, config = curves, config or {}
        self.folder = config.get('resume') or config.get('output_dir')  # None: in memory; '' is refused
        self.resume, self.overwrite = config.get('resume'), bool(config.get('overwrite'))
        self.metrics, self.step, self._done, self.checkpoint, self._bar = None, 0, 0, None, None
        self._drawn_at = self._drawing_took = 0.0  # when the curves were last drawn, and how long it took
        if self.folder is not None:
            self.overwrite = prepare_output_dir(self.folder, self.overwrite, self.resume)

    def __enter__(self):  # until training begins, SIGTERM stops the program as Ctrl-C does, in one line
        self._sigterm = threading.current_thread() is threading.main_thread() and \
            signal.signal(signal.SIGTERM, signal.default_int_handler)
        return self

    def __exit__(self, kind, error, traceback):
        if self._sigterm is not False:  # None: a handler set outside Python, which the default stands for
            signal.signal(signal.SIGTERM, self._sigterm or signal.SIG_DFL)
        if self.folder:
            release_output_dir(self.folder)
        if isinstance(error, KeyboardInterrupt) and self.metrics is None:  # loading the data, say
            raise Interrupted('interrupted before training began; nothing was written') from None
        if not self.folder or self.metrics is None:  # before training, an error is the program's to report
            return
        if isinstance(error, Diverged):
            rate = '--lr' if 'lr' in self.metrics['config'] else '--learning_rate'
            sys.exit(f'error: {error}; try a smaller {rate}. What was recorded is in {self.folder}')
        if isinstance(error, KeyboardInterrupt):
            resumable = os.path.exists(os.path.join(self.folder, 'checkpoint.pt')) and self.checkpoint
            raise Interrupted(f'interrupted; what was recorded is in {self.folder}'
                              + (f'; to continue, run the same command with --resume {self.folder}' if resumable
                                 else '')) from None
        if isinstance(error, OSError) and str(error.filename or '').startswith(str(self.folder)):
            sys.exit(f'error: could not write {os.path.basename(error.filename)} into {self.folder}: '
                     f'{error.strerror or error}; the run did not complete')

    def check_room(self, model_bytes, copies):
        """End the program in one line, before training, when the folder has no room for `copies` times the model's
        bytes (model, checkpoint, optimiser state, an atomic write's copy) and 16 MiB of metrics and figures."""
        needed = copies * model_bytes + 16 * 2 ** 20
        free = shutil.disk_usage(self.folder).free if self.folder else math.inf
        if free < needed:
            sys.exit(f'error: --output_dir {self.folder} has {free / 2 ** 20:,.0f} MiB free; the run writes up to '
                     f'{needed / 2 ** 20:,.0f} MiB')

    @contextlib.contextmanager
    def training(self, kind, config, **state):
        """The loop's context. kind names the model in its files; config (the settled flags: max_steps, eval_freq,
        dense_steps) is what metrics.json records. The state objects (with state_dict and load_state_dict, or dicts)
        are checkpointed at every evaluation and at a stop; --resume restores them, the steps and the metrics. Ctrl-C
        and SIGTERM stop the run after its step (stop_requests); metrics.json says how it ended, written last."""
        self.kind, self.config = kind, config
        if state and self.folder:
            from runkit.model_files import Checkpoint
            self.checkpoint = Checkpoint(kind, config, state)
        if self.resume and not self.checkpoint:
            sys.exit(f'error: --resume: the run in {self.folder} keeps no checkpoint to continue from')
        if self.resume:
            self.metrics, self.step = self.checkpoint.restore(self.folder)
            self._done = self.step
            self.metrics = {**self.metrics, 'config': dict(config), 'status': 'running'}
            self.metrics.pop('interrupted_after_step', None)
            self.metrics['resumed_after_steps'] = self.metrics.get('resumed_after_steps', []) + [self.step]
        else:
            clear_old_run(self.folder, self.overwrite)
            self.metrics = {'config': dict(config), 'status': 'running', 'steps': [], 'train_loss': [],
                            'train_accuracy': []}
        start, earlier = time.perf_counter(), self.metrics.get('wall_time_s', 0.0)
        self._clock = lambda: earlier + time.perf_counter() - start
        self._bar = tqdm(total=config['max_steps'], initial=self.step, desc='training', unit='step',
                         dynamic_ncols=True)
        with stop_requests() as self._stop, self._bar:
            try:
                yield self
                self.metrics['status'] = 'completed'
            except Diverged as error:
                self.metrics.update(status='diverged', diverged_at_step=error.step)
                raise
            except KeyboardInterrupt:  # between two steps (progress), or a second request in the middle of one
                self.metrics.update(status='interrupted', interrupted_after_step=self._done)
                if self.checkpoint and self._done == self.step:
                    self.checkpoint.save(self.folder, self._timed(), self.step)
                raise
            finally:
                if self.metrics['status'] == 'running':
                    self.metrics['status'] = 'failed'
                self.write(curves=True)

    def progress(self, iterable):
        """The items of iterable, one per step, counted in self.step on a progress bar; after a step, a stop request
        raises KeyboardInterrupt."""
        for item in iterable:
            self.step += 1
            yield item
            self._done = self.step  # one store: a stop at once sees the step done or not, never half
            self._bar.update(1)
            if self._stop and self.step < self.config['max_steps']:
                raise KeyboardInterrupt

    def evaluates(self, step):
        """Whether the loop evaluates after `step`: after the first (and each of the first --dense_steps), every
        eval_freq steps and after the last."""
        config = self.config
        return step <= max(1, config.get('dense_steps', 0)) or step % config['eval_freq'] == 0 \
            or step == config['max_steps']

    def log(self, step, **splits):
        """Record an evaluation after `step`: train=(loss, accuracy) of the batch, the same of each held-out split
        (test=, validation=); metrics.json is rewritten, the state checkpointed, the curves redrawn (CURVES_SHARE)."""
        row = {'steps': [*self.metrics['steps'], step]}
        for split, (loss, accuracy) in splits.items():
            row[f'{split}_loss'] = [*self.metrics.get(f'{split}_loss', []), float(loss)]
            row[f'{split}_accuracy'] = [*self.metrics.get(f'{split}_accuracy', []), float(accuracy)]
        self.metrics.update(row)  # in one call: a stop at once leaves every curve as long as the steps
        self._bar.set_postfix(loss=f'{splits["train"][0]:.3f}', test_acc=f'{self.metrics["test_accuracy"][-1]:.3f}')
        if self.checkpoint:
            self.checkpoint.save(self.folder, self._timed(), step)
        self.write(curves=self._drawing_took < CURVES_SHARE * (self._clock() - self._drawn_at))

    def save_model(self, model):
        """Write the trained model, a PyTorch module into model.pt or a NumPy {name: array} into model.npz."""
        if not self.folder:
            return
        if isinstance(model, dict):
            save_npz_model(os.path.join(self.folder, 'model.npz'), self.kind, dict(self.config), model)
        else:
            from runkit.model_files import save_torch_model
            save_torch_model(os.path.join(self.folder, 'model.pt'), self.kind, dict(self.config), model)

    def summary(self):
        """The line a script prints when its run has completed."""
        final, best, seconds = (self.metrics[k] for k in ('final_test_accuracy', 'best_test_accuracy', 'wall_time_s'))
        return (f'final test accuracy {final:.4f} (best {best:.4f}, selected on the test set) in {seconds:.1f} s; '
                f'the run is in {shown(self.folder)}')

    def _timed(self):
        self.metrics['wall_time_s'] = self._clock()
        return self.metrics

    def write(self, curves=True):
        """metrics.json, with the summary figures, and with curves, curves.png."""
        metrics, test = self._timed(), self.metrics.get('test_accuracy', [])
        metrics['final_test_accuracy'] = test[-1] if test else None
        metrics['best_test_accuracy'] = max(test) if test else None
        if not self.folder:
            return
        write_atomically(os.path.join(self.folder, 'metrics.json'), lambda path: write_json(path, metrics))
        if curves and self.curves:
            start = time.perf_counter()
            write_atomically(os.path.join(self.folder, 'curves.png'), lambda path: plot_curves(metrics, path))
            self._drawn_at, self._drawing_took = self._clock(), time.perf_counter() - start


@contextlib.contextmanager
def stop_requests():
    """While active, Ctrl-C (SIGINT) and SIGTERM (kill, a batch scheduler) go into the list yielded, for the loop to
    stop between two steps; a second request stops at once (KeyboardInterrupt), later ones are ignored."""
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


def prepare_output_dir(folder, overwrite=False, resume=None):
    """Lock folder for a run (lock_output_dir), writable and holding no run but one overwrite replaces, resume
    continues, or a plain rerun replaces: one that did not finish (killed, stopped, failed) and keeps no checkpoint.
    Returns whether its run is to be replaced; a problem ends the program in one line."""
    folder = str(folder)
    if overwrite and resume:
        sys.exit(f'error: --resume continues the run in {resume} and --overwrite would delete it; pass one of them')
    if resume and not os.path.exists(os.path.join(resume, 'checkpoint.pt')):
        sys.exit(f'error: --resume: {resume} holds no checkpoint.pt to continue from')
    odd = [name for name in RUN_FILES if os.path.lexists(at := os.path.join(folder, name)) and not os.path.isfile(at)]
    if odd:  # a folder, a FIFO or a link where a run's file goes: neither written over nor removed
        sys.exit(f'error: --output_dir {folder} holds {odd[0]}, which is not a plain file; move it away')
    try:
        os.makedirs(folder, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix='.write-test-'):
            pass
    except OSError as error:
        sys.exit(f'error: cannot write --output_dir {folder}: {error.strerror}')
    lock_output_dir(folder)  # first: a run still going on in folder is refused as such, not judged by its files
    held = [name for name in RUN_FILES[:4] if os.path.exists(os.path.join(folder, name))]
    if not held or overwrite or resume:
        return overwrite
    from runkit.model_files import run_status
    status = run_status(folder) or ('running' if 'checkpoint.pt' in held else None)  # killed before its metrics
    unfinished = status in ('running', 'interrupted', 'failed')  # running: killed outright
    if unfinished and 'checkpoint.pt' not in held:
        tqdm.write(f'{shown(folder)}: replacing its run, which did not finish and keeps no checkpoint', file=sys.stderr)
        return True
    release_output_dir(folder)
    sys.exit(f'error: --output_dir {folder} ' + (f'holds a run that did not finish; pass --resume {folder} to '
             f'continue it' if unfinished else f'already holds a run ({held[0]})') + '; pass --overwrite to replace '
             'it, or name another folder')


def clear_old_run(folder, overwrite):
    """With overwrite, remove every file of the run that folder holds (its model and analysis too)."""
    for name in RUN_FILES if folder and overwrite else ():
        if os.path.exists(os.path.join(folder, name)):
            os.remove(os.path.join(folder, name))


_held_locks = {}  # real path of a folder: the open lock file by which this process holds it


def lock_output_dir(folder, flag='--output_dir'):
    """Hold an exclusive lock on folder until release_output_dir: another process that asks for it (training, or
    evaluate.py, which names it by flag) is refused in one line naming this one. The lock is flock's: a killed run
    leaves no folder locked."""
    key = os.path.realpath(folder)
    if key in _held_locks:
        return
    try:
        lock = open(os.path.join(folder, LOCK_FILE), 'a+')
    except OSError as error:
        sys.exit(f'error: cannot lock {flag} {folder} ({LOCK_FILE}): {error.strerror}')
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        lock.seek(0)
        holder = lock.read().strip() or 'another process'
        lock.close()
        sys.exit(f'error: {flag} {folder} is in use by a process still going on ({holder}); wait for it to end, '
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
    """write(temporary_path), then rename the file to path: a crash or a full disk mid-write never leaves a truncated
    file where a good one was. An OSError names path, not the temporary file."""
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


def save_npz_model(path, kind, config, arrays):
    """A NumPy model's kind, run flags (JSON) and {name: array} in an .npz (model_files.load_npz_model reads it)."""
    import numpy as np
    write_atomically(path, lambda temporary: np.savez(temporary, kind=np.array(kind),
                                                      config=np.array(json.dumps(config)), **arrays))


def write_json(path, value):
    """value as JSON, every NaN or infinity (a diverged loss) written as null, which JSON has and Python's NaN
    is not."""
    def finite(value):
        if isinstance(value, float):
            return value if math.isfinite(value) else None
        if isinstance(value, dict):
            return {key: finite(item) for key, item in value.items()}
        return [finite(item) for item in value] if isinstance(value, (list, tuple)) else value

    with open(path, 'w') as f:
        json.dump(finite(value), f, indent=1, allow_nan=False)


def root_module(name):
    """The root's module `name` (modules, mlp_numpy, ...) imported as root_<name>: for the file of that name in an
    offering's folder, which would import itself under the plain name."""
    return import_file(f'root_{name}', os.path.join(ROOT, f'{name}.py'))


def import_file(qualified, path):
    """The Python file at path imported as the module `qualified` (once; later calls return the same module)."""
    if qualified not in sys.modules:
        spec = importlib.util.spec_from_file_location(qualified, path)
        sys.modules[qualified] = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(sys.modules[qualified])
        except BaseException:  # as a failed import leaves no module behind
            del sys.modules[qualified]
            raise
    return sys.modules[qualified]


def fingerprint(folder, names):
    """The first 16 hex digits of the SHA-256 of the files `names` in folder, read in that order: which copy of its
    data a run saw; None when one of them is missing (the data came from elsewhere)."""
    if not all(os.path.isfile(os.path.join(folder, name)) for name in names):
        return None
    digest = hashlib.sha256()
    for name in names:
        with open(os.path.join(folder, name), 'rb') as f:
            for chunk in iter(lambda: f.read(1 << 20), b''):
                digest.update(chunk)
    return digest.hexdigest()[:16]


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


def check_epoch_arguments(hidden_dims, lr, batch_size, epochs, seed=0):
    """A ValueError naming the first argument of a 2021+ template's train() that cannot train."""
    for name, values in (('hidden_dims', hidden_dims), ('batch_size', [batch_size]), ('epochs', [epochs])):
        if any(value < 1 for value in values):
            raise ValueError(f'{name} must be at least 1, got {values if name == "hidden_dims" else values[0]}')
    if not 0 < lr < math.inf:
        raise ValueError(f'lr must be a positive number, got {lr}')
    if not 0 <= seed < 2 ** 32:  # what np.random.seed, which the templates call, takes
        raise ValueError(f'seed must be an integer in [0, 2**32), got {seed}')


# One colour per split and one style for every figure: text of 8 points or more, at most TEXT_WIDTH inches wide.
SPLIT_COLOURS = {'train': 'tab:blue', 'validation': 'tab:green', 'test': 'tab:orange'}
FIGURE_STYLE, TEXT_WIDTH = {'font.size': 8, 'axes.labelsize': 9, 'savefig.dpi': 200}, 5.5


def curve_labels(config):
    """Legends of the loss and the accuracy curves, per split: the training curves are the current batch's (as
    dropout, augmentation and label smoothing change it), the held-out ones the whole set's (over test-time views)."""
    changes = ([f'dropout {config["dropout"]:g}'] if config.get('dropout') else []) + \
              (['crops and flips'] if config.get('augment') else [])
    batch = 'current batch' + (f'\n({", ".join(changes)})' if changes else '')
    smoothing = config.get('label_smoothing')
    train_loss = f'label-smoothed ({smoothing:g})\ncross-entropy' if smoothing else 'cross-entropy'
    count = (1 + 2 * bool(config.get('tta_shift'))) * (1 + bool(config.get('tta')))
    whole = 'whole set' + (f',\n{count} views per image averaged' if count > 1 else '')
    return {'loss': {'train': f'train: {train_loss}, {batch}', 'validation': f'validation: cross-entropy, {whole}',
                     'test': f'test: cross-entropy, {whole}'},
            'accuracy': {'train': f'train: {batch}', 'validation': f'validation: {whole}', 'test': f'test: {whole}'}}


def pyplot():
    """matplotlib's pyplot on the Agg backend, which needs no screen; imported when the first figure is drawn."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    return plt


def shown(text):
    """text as a figure or a terminal can show it: a folder's name that is not UTF-8 with its bytes escaped."""
    return text.encode('utf-8', 'backslashreplace').decode('utf-8')


def plot_curves(metrics, path):
    """Loss and accuracy against step, one line per split, side by side, each legend above its panel (FIGURE_STYLE)."""
    plt = pyplot()
    splits = [split for split in ('train', 'validation', 'test') if f'{split}_loss' in metrics]
    labels = curve_labels(metrics['config'])
    lines = max(sum(labels[quantity][split].count('\n') + 1 for split in splits) for quantity in labels)
    with plt.rc_context(FIGURE_STYLE):
        fig, axes = plt.subplots(1, 2, figsize=(TEXT_WIDTH, 1.95 + 0.17 * lines), layout='constrained')
        for ax, quantity in zip(axes, ('loss', 'accuracy')):
            for split in splits:
                ax.plot(metrics['steps'], metrics[f'{split}_{quantity}'], marker='.', color=SPLIT_COLOURS[split],
                        label=labels[quantity][split])
            ax.set(xlabel='training step', ylabel=quantity)
            ax.grid(alpha=0.3)
            ax.legend(loc='lower center', bbox_to_anchor=(0.5, 1), frameon=False)
        fig.savefig(path)
    plt.close(fig)
