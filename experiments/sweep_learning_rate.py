"""Learning-rate study: the MLP with plain SGD at 9 learning rates from 1e-6 to 100 (log-spaced).

    python experiments/sweep_learning_rate.py      # writes results/lr_sweep/

Each rate trains the BGU variant's network (one hidden layer of 128 ReLU units, Kaiming initialisation, batch 128,
standardised inputs) with train_mlp_pytorch.py and is judged on a validation split. Every run is evaluated after
each of its first 50 steps, so that a divergence shows how it happens. Runs whose loss stops being finite are
recorded as diverged, at the best validation accuracy they reached, and drawn as such; the sweep carries on.
"""
import argparse
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import runkit
import train_mlp_pytorch
from runkit import datasets, flags, plots, studies, tuning


def learning_rate_list(text):
    """Comma-separated positive learning rates, no two of which would share a run folder (lr_<rate>, 6 digits)."""
    rates = [flags.positive_float(value) for value in text.split(',')]
    folders = [run_folder_name(rate) for rate in rates]
    for i, folder in enumerate(folders):
        if folder in folders[:i]:
            raise argparse.ArgumentTypeError(f'{rates[folders.index(folder)]!r} and {rates[i]!r} would share the run '
                                             f'folder {folder}; expected rates that differ in 6 significant digits')
    return rates


def build_parser():
    parser = runkit.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--learning_rates', type=learning_rate_list,
                        default=[float(f'{lr:.0e}') for lr in np.logspace(-6, 2, 9)],
                        help='comma-separated learning rates (default: 1e-6, 1e-5, ..., 100)')
    parser.add_argument('--epochs', type=flags.positive_float, default=5)
    parser.add_argument('--validation_size', type=flags.positive_int, default=5000)
    parser.add_argument('--dataset', type=flags.dataset_name(datasets.CIFAR10_DATASETS),
                        choices=datasets.CIFAR10_DATASETS, default='cifar10')
    parser.add_argument('--data_dir', default=None, help="train_mlp_pytorch.py's default when not given")
    parser.add_argument('--seed', type=flags.seed, default=42)
    parser.add_argument('--output_dir', default='runs/lr_sweep')
    parser.add_argument('--overwrite', action='store_true', help='replace the sweep that --output_dir already holds')
    return parser


def run_flags(args, learning_rate):
    """The train_mlp_pytorch.py flags of one run of the sweep."""
    flags = ['--dnn_hidden_units', '128', '--neg_slope', '0', '--init', 'kaiming', '--batch_size', '128',
             '--preprocess', 'standardize',
             '--optimizer', 'sgd', '--learning_rate', str(learning_rate), '--epochs', str(args.epochs),
             '--eval_freq', '50', '--dense_steps', '50', '--validation_size', str(args.validation_size),
             '--dataset', args.dataset,
             '--seed', str(args.seed), '--output_dir', run_folder(args, learning_rate)]
    return flags + (['--data_dir', args.data_dir] if args.data_dir else []) + ['--overwrite'] * args.overwrite


def run_folder_name(learning_rate):
    return f'lr_{learning_rate:g}'


def run_folder(args, learning_rate):
    return os.path.join(args.output_dir, run_folder_name(learning_rate))


def run_one(args, learning_rate, plan):
    """One rate's run (train_mlp_pytorch.py with run_flags), recorded as diverged when it diverges; plan's metrics
    when the run finished before (studies.open_study)."""
    metrics = plan[run_folder(args, learning_rate)] or tuning.train_past_divergence(
        train_mlp_pytorch, train_mlp_pytorch.parse_flags(run_flags(args, learning_rate)
                                                         + studies.continuing(args, run_folder(args, learning_rate))))
    validation = metrics.get('validation_accuracy', [])
    return {'learning_rate': learning_rate, 'status': metrics['status'],
            'diverged_at_step': metrics.get('diverged_at_step'),
            'best_validation_accuracy': max(validation) if validation else None,
            'steps': metrics['steps'], 'train_loss': metrics['train_loss']}


def run(argv=None):
    """Every rate's run, then the sweep's metrics.json and figures; returns the metrics. Run again after a stop with
    the same flags, it keeps the rates' runs that finished and resumes the one stopped (studies)."""
    args = build_parser().parse_args(argv)
    with studies.open_study(args, [run_folder(args, rate) for rate in args.learning_rates]) as plan:  # checked first
        runs = []
        for learning_rate in args.learning_rates:
            try:
                runs.append(run_one(args, learning_rate, plan))
            except studies.STOPS:
                studies.stopped(args, len(runs), len(args.learning_rates))
        completed = [run for run in runs if run['status'] == 'completed']
        best = max(completed, key=lambda run: run['best_validation_accuracy'], default=None)
        sweep = {'config': vars(args), 'runs': runs,
                 'best_learning_rate': best and best['learning_rate'],
                 'best_validation_accuracy': best and best['best_validation_accuracy']}
        studies.close_study(args.output_dir, sweep)
    plots.plot_sweep(runs, args.output_dir)
    return sweep


def main(argv=None):
    sweep = run(argv)
    for each in sweep['runs']:
        outcome = (f'best validation accuracy {each["best_validation_accuracy"]:.4f}' if each['status'] == 'completed'
                   else f'diverged at step {each["diverged_at_step"]}')
        print(f'lr {each["learning_rate"]:>8g}: {outcome}')
    return sweep


if __name__ == '__main__':
    main()
