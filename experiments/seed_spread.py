"""Seed study: the NumPy MLP's default run repeated with other seeds, to show how much its outcome varies.

    python experiments/seed_spread.py              # writes results/mlp_numpy_seeds/

The seed fixes both the initial weights and the order of the batches. At the assignment's constant learning
rate the test accuracy still swings from one evaluation to the next at step 1500, so the final accuracy of a
single run is one draw from a spread; this study measures that spread. Every run uses the defaults of
train_mlp_numpy.py but for --seed (and --max_steps, --dataset, --data_dir when given) and is kept in
seed_<n>/.
"""
import argparse
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import cifar10_utils  # noqa: E402
import train_mlp_numpy  # noqa: E402
import train_utils  # noqa: E402

ASSIGNMENT_EXPECTATION = 0.46  # "you should get an accuracy of around 0.46" (UvA assignment 1, question 1.2)


def seed_list(text):
    """'0,1,2' -> [0, 1, 2]: distinct seeds >= 0 (each run has a folder of its own)."""
    try:
        seeds = [train_utils.non_negative_int(part) for part in text.split(',')]
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f'expected comma-separated integers >= 0 such as 0,1,2, got {text!r}') from None
    if len(set(seeds)) != len(seeds):
        raise argparse.ArgumentTypeError(f'expected distinct seeds, got {text!r}')
    return seeds


def build_parser():
    parser = train_utils.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--seeds', type=seed_list,
                        default=list(range(20)), help='comma-separated seeds (default: 0, 1, ..., 19)')
    parser.add_argument('--max_steps', type=train_utils.positive_int, default=None,
                        help="train_mlp_numpy.py's default when not given")
    parser.add_argument('--dataset', choices=cifar10_utils.CIFAR10_DATASETS, default='cifar10')
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


def plot(study, path):
    """Test accuracy of every seed against step, and the final accuracies against the assignment's figure."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    runs, stats = study['runs'], study['final_test_accuracy']
    fig, (curves, finals) = plt.subplots(1, 2, figsize=(11, 4), gridspec_kw={'width_ratios': [2, 1]})
    # From the second evaluation on: the first, after one step, sits at chance and would squash the rest.
    steps = runs[0]['steps'][1:]
    for run in runs:
        curves.plot(steps, run['test_accuracy'][1:], color='tab:blue', alpha=0.25, linewidth=1)
    curves.plot(steps, np.mean([run['test_accuracy'][1:] for run in runs], axis=0), color='tab:blue',
                linewidth=2.5, label=f'mean of {len(runs)} seeds')
    for ax in (curves, finals):
        ax.axhline(ASSIGNMENT_EXPECTATION, color='tab:red', linestyle='--',
                   label=f'assignment: "around {ASSIGNMENT_EXPECTATION}"')
        ax.grid(alpha=0.3)
    curves.set_xlabel('training step')
    curves.set_ylabel('test accuracy (whole test set)')
    curves.legend(loc='lower right')
    curves.set_title('Test accuracy of every seed')

    seeds = [run['seed'] for run in runs]
    final = [run['final_test_accuracy'] for run in runs]
    finals.plot(seeds, final, 'o', color='tab:blue', label='final test accuracy')
    finals.axhline(stats['mean'], color='black', label=f'mean {stats["mean"]:.4f}')
    finals.axhspan(stats['mean'] - stats['std'], stats['mean'] + stats['std'], color='grey', alpha=0.2,
                   label=f'± one std ({stats["std"]:.4f})')
    finals.set_xlabel('seed')
    finals.set_ylabel('test accuracy after the last step')
    finals.legend(fontsize=8, loc='lower left')
    finals.set_title('Final test accuracy per seed')
    fig.suptitle(f'NumPy MLP, default flags, {len(runs)} seeds')
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    args = build_parser().parse_args(argv)
    train_utils.check_output_dirs([args.output_dir] + [run_folder(args, seed) for seed in args.seeds], args.overwrite)
    runs = []
    for seed in args.seeds:
        metrics = train_mlp_numpy.main(run_flags(args, seed))
        runs.append({'seed': seed, 'final_test_accuracy': metrics['final_test_accuracy'],
                     'best_test_accuracy': metrics['best_test_accuracy'], 'steps': metrics['steps'],
                     'test_accuracy': metrics['test_accuracy']})
    study = {'config': vars(args), 'assignment_expectation': ASSIGNMENT_EXPECTATION, 'runs': runs,
             'final_test_accuracy': summarise([run['final_test_accuracy'] for run in runs]),
             'best_test_accuracy': summarise([run['best_test_accuracy'] for run in runs])}
    train_utils.write_atomically(os.path.join(args.output_dir, 'metrics.json'),
                                 lambda path: train_utils.write_json(path, study))
    plot(study, os.path.join(args.output_dir, 'final_test_accuracy_per_seed.png'))
    stats = study['final_test_accuracy']
    print(f'final test accuracy over {len(runs)} seeds: mean {stats["mean"]:.4f}, std {stats["std"]:.4f}, '
          f'range {stats["min"]:.4f}-{stats["max"]:.4f}; {stats["share_at_least_expectation"]:.0%} of the runs '
          f'reach {ASSIGNMENT_EXPECTATION}')
    return study


if __name__ == '__main__':
    main()
