"""The training loop every script shares: steps, evaluations, stop requests (Ctrl-C, SIGTERM), divergence, and the
run's metrics.json and curves written whatever happens."""
import contextlib
import math
import os
import signal
import sys
import threading
import time

from tqdm import tqdm

from runkit import plots, run_files


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
          resumed=None, curves=True, dense_steps=0):
    """Run train_step for max_steps steps, evaluate now and then, and write what was recorded.

    config: the run's settings, written into metrics.json as they are;
    train_step(step) -> (loss, accuracy) of its batch, computed before the update;
    evaluate() -> {'test': (loss, accuracy), ...} for every held-out split.
    Evaluates after each of the first max(1, dense_steps) steps, every eval_freq steps and after the last.
    metrics.json and curves.png are written even when the loss diverges or the run is interrupted (by Ctrl-C or
    SIGTERM: see stop_requests), with 'status' saying which; a diverged run raises Diverged after writing, an
    interrupted one KeyboardInterrupt. save_model(folder) writes the model once the run has completed;
    checkpoint(folder, metrics, step) writes what it takes to continue after `step`, at every evaluation and when
    the run is interrupted between steps. resumed = (metrics, step) from such a checkpoint continues that run.
    curves=False leaves curves.png out, for a study that keeps only its runs' metrics. Returns the metrics dict.
    """
    metrics, done = _started(config, resumed)
    clock = _Clock(metrics.get('wall_time_s', 0.0))
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
                        metrics.update(status='diverged', diverged_at_step=step)
                        raise Diverged(f'the training loss became {loss} at step {step}', metrics)
                    if step <= max(1, dense_steps) or step % eval_freq == 0 or step == max_steps:
                        _record(metrics, step, {'train': (loss, accuracy), **evaluate()})
                        bar.set_postfix(loss=f'{loss:.3f}', test_acc=f'{metrics["test_accuracy"][-1]:.3f}')
                        if checkpoint:
                            metrics['wall_time_s'] = clock()
                            checkpoint(output_dir, metrics, step)
                    done, between_steps = step, True
                    if stop and step < max_steps:
                        raise KeyboardInterrupt
            if save_model:  # before the status: a run whose model could not be written has not completed
                save_model(output_dir)
            metrics['status'] = 'completed'
        except KeyboardInterrupt:
            metrics.update(status='interrupted', interrupted_after_step=done)
            if checkpoint and between_steps:
                metrics['wall_time_s'] = clock()
                checkpoint(output_dir, metrics, done)
            raise
        finally:
            if metrics['status'] == 'running':
                metrics['status'] = 'failed'
            metrics['wall_time_s'] = clock()
            save_run(metrics, output_dir, curves)
    return metrics


def _started(config, resumed):
    """(the metrics dict a run starts from, the steps already done): empty, or a resumed run's with its resumption
    noted."""
    if not resumed:
        return {'config': dict(config), 'status': 'running', 'steps': [], 'train_loss': [], 'train_accuracy': []}, 0
    metrics, done = {**resumed[0], 'config': dict(config), 'status': 'running'}, resumed[1]
    metrics.pop('interrupted_after_step', None)
    metrics['resumed_after_steps'] = metrics.get('resumed_after_steps', []) + [done]
    return metrics, done


class _Clock:
    """Seconds of training: those of the run's earlier sessions plus this one's so far."""

    def __init__(self, earlier_seconds):
        self.earlier_seconds, self.start = earlier_seconds, time.perf_counter()

    def __call__(self):
        return self.earlier_seconds + time.perf_counter() - self.start


class Interrupted(SystemExit):
    """How a run stopped by Ctrl-C or SIGTERM ends the program: in one line, which says where what was recorded is.
    A study catches it to keep what its finished runs found."""


@contextlib.contextmanager
def training_into(folder, overwrite):
    """The run's folder while it trains: cleared first of the old run with overwrite (every check has passed by
    now), given up at the end (release_output_dir); a file that cannot be written ends the program in one line."""
    run_files.clear_old_run(folder, overwrite)
    try:
        yield
    except OSError as error:
        name = os.path.basename(error.filename) if error.filename else 'a file'
        sys.exit(f'error: could not write {name} into {folder}: {error.strerror or error}; the run did not complete')
    finally:
        run_files.release_output_dir(folder)


def train_and_report(config, train_step, evaluate, record=None, **saving):
    """train() as a run's settled config says (its max_steps, eval_freq, output_dir and overwrite), writing record
    (default: the config itself) into metrics.json, with train's save_model, checkpoint, resumed and curves; prints
    the outcome, or ends the program in one line on divergence, interruption or a failed write."""
    folder = config['output_dir']
    with training_into(folder, config['overwrite']):
        try:
            metrics = train(record or config, train_step, evaluate, config['max_steps'], config['eval_freq'], folder,
                            dense_steps=config.get('dense_steps', 0), **saving)
        except Diverged as error:
            sys.exit(f'error: {error}; try a smaller --learning_rate. What was recorded is in {folder}')
        except KeyboardInterrupt:
            resumable = saving.get('checkpoint') and os.path.exists(os.path.join(folder, 'checkpoint.pt'))
            raise Interrupted(f'interrupted; what was recorded is in {folder}'
                              + (f'; to continue, run the same command with --resume {folder}' if resumable
                                 else '')) from None
    print(f'final test accuracy {metrics["final_test_accuracy"]:.4f} '
          f'(best {metrics["best_test_accuracy"]:.4f}, selected on the test set) in {metrics["wall_time_s"]:.1f} s; '
          f'the run is in {folder}')
    return metrics


def train_past_divergence(config, train_step, evaluate, record=None, **saving):
    """train_and_report for a search that goes on when one of its runs diverges: that run's metrics (status
    'diverged') are written and returned like any other's, and a line says so."""
    folder = config['output_dir']
    with training_into(folder, config['overwrite']):
        try:
            return train(record or config, train_step, evaluate, config['max_steps'], config['eval_freq'], folder,
                         dense_steps=config.get('dense_steps', 0), **saving)
        except Diverged as error:
            print(f'{error}; recorded as diverged in {folder}')
            return error.metrics
        except KeyboardInterrupt:
            raise Interrupted(f'interrupted; what was recorded is in {folder}') from None


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
    run_files.write_atomically(os.path.join(output_dir, 'metrics.json'),
                               lambda path: run_files.write_json(path, metrics))
    if curves:
        run_files.write_atomically(os.path.join(output_dir, 'curves.png'),
                                   lambda path: plots.plot_curves(metrics, path))
