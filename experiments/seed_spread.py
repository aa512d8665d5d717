"""Seed study: the NumPy MLP's default run repeated with other seeds, to show how much its outcome varies.

    python experiments/seed_spread.py              # writes results/mlp_numpy_seeds/

The seed fixes both the initial weights and the order of the batches. At the assignment's constant learning
rate the test accuracy still swings from one evaluation to the next at step 1500, so the final accuracy of a
single run is one draw from a spread; this study measures that spread. Every run uses the defaults of
train_mlp_numpy.py but for --seed (and --max_steps, --dataset, --data_dir when given) and is kept in
seed_<n>/.
"""
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import runkit
import train_mlp_numpy
from runkit import datasets, flags, plots, studies

ASSIGNMENT_EXPECTATION = 0.46  # "you should get an accuracy of around 0.46" (UvA assignment 1, question 1.2)


def build_parser():
    parser = runkit.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--seeds', type=flags.seed_list,
                        default=list(range(20)), help='comma-separated seeds (default: 0, 1, ..., 19)')
    parser.add_argument('--max_steps', type=flags.positive_int, default=None,
                        help="train_mlp_numpy.py's default when not given")
    parser.add_argument('--dataset', type=flags.dataset_name(datasets.CIFAR10_DATASETS),
                        choices=datasets.CIFAR10_DATASETS, default='cifar10')
    parser.add_argument('--data_dir', default=None, help="train_mlp_numpy.py's default when not given")
    parser.add_argument('--output_dir', default='runs/mlp_numpy_seeds')
    parser.add_argument('--overwrite', action='store_true', help='replace the study that --output_dir already holds')
    return parser


def run_folder(args, seed):
    return os.path.join(args.output_dir, f'seed_{seed}')


def run_flags(args, seed):
    """The train_mlp_numpy.py flags of one run of the study."""
    flags = ['--seed', str(seed), '--dataset', args.dataset, '--output_dir', run_folder(args, seed)]
    flags += ['--overwrite'] * args.overwrite
    if args.max_steps:
        flags += ['--max_steps', str(args.max_steps)]
    return flags + (['--data_dir', args.data_dir] if args.data_dir else [])


def summarise(finals):
    """Mean, sample standard deviation, extremes and share of runs at or above the assignment's figure."""
    finals = np.asarray(finals, dtype=np.float64)
    return {'mean': finals.mean(), 'std': finals.std(ddof=1) if len(finals) > 1 else 0.0,
            'min': finals.min(), 'max': finals.max(),
            'share_at_least_expectation': float((finals >= ASSIGNMENT_EXPECTATION).mean())}


def run(argv=None):
    """Every seed's run, then the study's metrics.json and figure; returns the study. Run again after a stop with the
    same flags, it keeps the seeds' runs that finished (studies)."""
    args = build_parser().parse_args(argv)
    # Every folder is checked before the first run. A diverged seed is not kept: its divergence ended the study.
    with studies.open_study(args, [run_folder(args, seed) for seed in args.seeds], finished=('completed',)) as plan:
        runs = []
        for seed in args.seeds:
            try:
                metrics = plan[run_folder(args, seed)] or train_mlp_numpy.main(run_flags(args, seed))
            except studies.STOPS:
                studies.stopped(args, len(runs), len(args.seeds))
            runs.append({'seed': seed, 'final_test_accuracy': metrics['final_test_accuracy'],
                         'best_test_accuracy': metrics['best_test_accuracy'], 'steps': metrics['steps'],
                         'test_accuracy': metrics['test_accuracy']})
        study = {'config': vars(args), 'assignment_expectation': ASSIGNMENT_EXPECTATION, 'runs': runs,
                 'final_test_accuracy': summarise([run['final_test_accuracy'] for run in runs]),
                 'best_test_accuracy': summarise([run['best_test_accuracy'] for run in runs])}
        studies.close_study(args.output_dir, study)
    plots.plot_seed_spread(study, os.path.join(args.output_dir, 'final_test_accuracy_per_seed.png'))
    return study


def main(argv=None):
    study = run(argv)
    stats = study['final_test_accuracy']
    print(f'final test accuracy over {len(study["runs"])} seeds: mean {stats["mean"]:.4f}, std {stats["std"]:.4f}, '
          f'range {stats["min"]:.4f}-{stats["max"]:.4f}; {stats["share_at_least_expectation"]:.0%} of the runs '
          f'reach {ASSIGNMENT_EXPECTATION}')
    return study


if __name__ == '__main__':
    main()
