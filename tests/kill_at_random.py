"""Kill -9 at random moments: a stress check of the rule that a run folder is, at every moment, a complete run, one
that --resume continues, or one that a plain rerun replaces. Not part of the suite (it takes minutes).

    python tests/kill_at_random.py --kills 20          # the root's PyTorch MLP and UvA 2021's train()

Each kill starts a run on small data and kills it (SIGKILL) at a random moment: four kills in five while it trains
(from its first evaluation to its last write), one in five while it starts (imports, data). It then looks at the folder
and proves what it is: a completed run must hold every result of its kind; any other folder must be continued to a
completed run by the same command, or, when that is refused with the --resume that continues it, by that --resume.
Prints one line per kill and ends with status 1 if any folder was none of these.
"""
import argparse
import json
import os
import pickle
import random
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# What a completed run of each kind records, beyond the curves every run has.
RESULTS = {'root': {'final_test_accuracy', 'best_test_accuracy'},
           'offering': {'val_accuracies', 'best_epoch', 'test_metrics'}}
MODEL = {'root': 'model.pt', 'offering': None}


def small_cifar(folder):
    """A torchvision-style CIFAR-10 root of 1,000 training and 200 test images (UvA 2021's loader holds 5,000 of
    them out, so its training split keeps none: the loader is given 6,000)."""
    batches = os.path.join(folder, 'cifar-10-batches-py')
    os.makedirs(batches)
    rng = np.random.default_rng(0)
    for name, count in [(f'data_batch_{i}', 1200) for i in range(1, 6)] + [('test_batch', 200)]:
        labels = rng.integers(10, size=count)
        with open(os.path.join(batches, name), 'wb') as file:
            pickle.dump({'data': rng.integers(0, 256, size=(count, 3072), dtype=np.uint8), 'labels': labels.tolist()},
                        file)
    return folder


def commands(kind, folder, data):
    """(the run's command, the working folder) of each kind."""
    if kind == 'root':
        return ([sys.executable, 'train_mlp_pytorch.py', '--dataset', 'fake_cifar10', '--max_steps', '400',
                 '--eval_freq', '10', '--threads', '1', '--output_dir', folder], ROOT)
    return ([sys.executable, 'train_mlp_pytorch.py', '--epochs', '8', '--batch_size', '50', '--data_dir', data,
             '--output_dir', folder], os.path.join(ROOT, 'uva2021'))


def status_of(folder):
    try:
        with open(os.path.join(folder, 'metrics.json')) as file:
            return json.load(file)
    except (FileNotFoundError, ValueError):  # none yet, or caught while it is replaced
        return None


def complete(kind, folder):
    """Whether folder holds a completed run with every result of its kind."""
    metrics = status_of(folder)
    return bool(metrics) and metrics.get('status') == 'completed' and RESULTS[kind] <= metrics.keys() and \
        (MODEL[kind] is None or os.path.isfile(os.path.join(folder, MODEL[kind])))


def continued(kind, folder, data):
    """How the folder a kill left became a completed run: 'complete', 'rerun', or 'resumed' after the plain rerun
    was refused with the --resume that continues it; or what went wrong."""
    if complete(kind, folder):
        return 'complete'
    command, cwd = commands(kind, folder, data)
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=600)
    how = 'rerun'
    if result.returncode != 0 and f'pass --resume {folder} to continue it' in result.stderr:
        how, result = 'resumed', subprocess.run(command + ['--resume', folder], cwd=cwd, capture_output=True,
                                                text=True, timeout=600)
    if result.returncode != 0:
        return f'FAILED to continue ({how}): {result.stderr.strip().splitlines()[-1]}'
    return how if complete(kind, folder) else f'FAILED: {how}, but the run is not complete'


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--kills', type=int, default=20, help='kills of each kind (default: 20)')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    rng, failures = random.Random(args.seed), 0
    with tempfile.TemporaryDirectory() as scratch:
        data = small_cifar(os.path.join(scratch, 'data'))
        for kind in ('root', 'offering'):
            whole_dir = os.path.join(scratch, f'{kind}_whole')
            command, cwd = commands(kind, whole_dir, data)
            start, process = time.perf_counter(), subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL,
                                                                    stderr=subprocess.DEVNULL)
            while process.poll() is None and not os.path.exists(os.path.join(whole_dir, 'metrics.json')):
                time.sleep(0.01)
            training = time.perf_counter() - start  # when the first evaluation was written: training had begun
            while process.poll() is None and (status_of(whole_dir) or {}).get('status') != 'completed':
                time.sleep(0.01)
            trained = time.perf_counter() - start  # when it said it completed (then: interpreter shutdown)
            if process.wait():
                sys.exit(f'the whole {kind} run failed')
            whole = time.perf_counter() - start
            for kill in range(1, args.kills + 1):
                folder = os.path.join(scratch, f'{kind}_{kill}')
                command, cwd = commands(kind, folder, data)
                process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                after = rng.uniform(0, training) if kill % 5 == 0 else rng.uniform(training, trained)
                time.sleep(after)
                process.send_signal(signal.SIGKILL)
                process.wait()
                left = (status_of(folder) or {}).get('status', 'no metrics.json')
                outcome = continued(kind, folder, data)
                failures += outcome.startswith('FAILED')
                print(f'{kind:8} kill {kill:2} after {after:5.2f} s of {whole:.2f}: left {left:15} -> {outcome}',
                      flush=True)
    print(f'{failures} folders were neither complete nor continued to a complete run')
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
