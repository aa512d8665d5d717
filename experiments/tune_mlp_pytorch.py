"""The PyTorch MLP's tuning, one reasoned modification at a time, selected on a validation split.

    python experiments/tune_mlp_pytorch.py         # runs every stage, writes results/mlp_pytorch_tuning/
    python experiments/tune_mlp_pytorch.py --table_only   # rebuilds the table from the runs on disk

Every stage keeps the modifications of the stages before it and adds one. Each run holds out the
first 5,000 training images for validation; the table lists validation and test accuracy, and the
stage to keep is chosen on validation accuracy alone. The last stage trains the final configuration
for longer; its run is results/mlp_pytorch_best. A stage whose loss diverges is recorded as such and
the search goes on.
"""
import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import train_mlp_pytorch  # noqa: E402
import train_utils  # noqa: E402

# (name, why, flags added to those of the stages before)
STAGES = [
    ('baseline', "the assignment's defaults: SGD at 2e-3, one hidden layer of 100, 1500 steps", []),
    ('adam_standardize', 'optimisation: Adam adapts the step per weight, and inputs standardised per channel '
     'give every weight a comparable scale', ['--optimizer', 'adam', '--learning_rate', '1e-3',
                                              '--preprocess', 'standardize', '--epochs', '{epochs}']),
    ('wide_deep', 'capacity: three hidden layers of 1024 units (Kaiming initialisation to keep the signal '
     'alive through them)', ['--dnn_hidden_units', '1024,1024,1024', '--init', 'kaiming']),
    ('batch_norm', 'conditioning: batch norm after every hidden layer steadies the deeper network and '
     'tolerates a larger learning rate', ['--batch_norm', '--learning_rate', '2e-3']),
    ('onecycle', 'schedule: warm up, then anneal the learning rate to settle into a minimum '
     '(one-cycle, cosine)', ['--lr_schedule', 'onecycle', '--warmup_steps', '{warmup}']),
    ('regularise', 'regularisation: decoupled weight decay (AdamW), dropout and label smoothing against '
     'the wide network memorising the training set',
     ['--optimizer', 'adamw', '--weight_decay', '0.05', '--dropout', '0.1', '--label_smoothing', '0.1']),
    ('augment', 'augmentation: random crops and flips show the network new images every epoch, the '
     'strongest regulariser for images', ['--augment']),
    ('longer', 'training length: with augmentation and regularisation the network no longer memorises the '
     'training set, so many more epochs pay off (the final configuration)',
     ['--epochs', '{final_epochs}', '--warmup_steps', '{final_warmup}', '--eval_freq', '1000']),
]
# The last stage is the configuration to keep if validation agrees; its run is the committed best run.
FINAL_STAGE = 'longer'
# Under the results folder: every stage's run in TUNING_DIR/<stage>, but the last stage's in FINAL_DIR.
TUNING_DIR, FINAL_DIR = 'mlp_pytorch_tuning', 'mlp_pytorch_best'


def stage_flags(upto, **values):
    """The flags of stage `upto` and all before it; later flags override earlier ones, as in argparse."""
    flags = ['--eval_freq', '250', '--validation_size', '5000']
    for _, _, added in STAGES[:upto + 1]:
        flags += [flag.format(**values) for flag in added]
    return flags


def stage_dir(results_dir, name):
    return results_dir / (FINAL_DIR if name == FINAL_STAGE else Path(TUNING_DIR, name))


def load(path):
    with open(path) as f:
        return json.load(f)


def write_table(results_dir, names):
    """The table of the stages in names, from their runs on disk, written to TUNING_DIR/table.md and returned."""
    rows, best = [], None
    for name, why, _ in STAGES:
        if name not in names:
            continue
        metrics = load(stage_dir(results_dir, name) / 'metrics.json')
        if metrics['status'] == 'completed':
            validation = metrics['validation_accuracy'][-1]
            outcome = f'{validation:.4f} | {metrics["final_test_accuracy"]:.4f}'
            if best is None or validation > best[1]:
                best = (name, validation)
        else:  # a diverged stage's last evaluations come from before it diverged: not a result to choose
            step = f' at step {metrics["diverged_at_step"]}' if 'diverged_at_step' in metrics else ''
            outcome = f'{metrics["status"]}{step} | —'
        rows.append(f'| {name} | {why} | {outcome} | {metrics["wall_time_s"] / 60:.1f} |')
    chosen = f'**{best[0]}** ({best[1]:.4f})' if best else 'none, no stage completed'
    table = ('| stage | modification (added to the stages above) | final validation accuracy | '
             'final test accuracy | training time (min) |\n|---|---|---|---|---|\n' + '\n'.join(rows) +
             f'\n\nChosen on validation accuracy: {chosen}.\n')
    (results_dir / TUNING_DIR / 'table.md').write_text(table)
    return table


def main(argv=None):
    parser = train_utils.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--epochs', type=train_utils.positive_int, default=3,
                        help='epochs of every stage after the baseline')
    parser.add_argument('--warmup', type=train_utils.non_negative_int, default=150,
                        help='warm-up steps of the one-cycle stages')
    parser.add_argument('--final_epochs', type=train_utils.positive_int, default=35, help='epochs of the final stage')
    parser.add_argument('--final_warmup', type=train_utils.non_negative_int, default=400,
                        help='warm-up steps of the final stage')
    parser.add_argument('--only', nargs='*', choices=[name for name, _, _ in STAGES], metavar='STAGE',
                        help='run only these stages (the others are read from disk): '
                             + ', '.join(name for name, _, _ in STAGES))
    parser.add_argument('--table_only', action='store_true')
    parser.add_argument('--output_dir', type=Path, default=Path('runs'),
                        help=f'folder, relative to the repository root: the stages go to {TUNING_DIR}/<stage> in it, '
                             f'the last one to {FINAL_DIR}; the committed ones are in results/')
    parser.add_argument('--overwrite', action='store_true', help='replace stages that the folder already holds')
    parser.add_argument('--extra', nargs=argparse.REMAINDER, default=[],
                        help='flags passed to every run (e.g. --dataset synthetic)')
    args = parser.parse_args(argv)
    os.chdir(ROOT)
    stages = [name for name, _, _ in STAGES if not args.table_only and (not args.only or name in args.only)]
    train_utils.check_output_dirs([stage_dir(args.output_dir, name) for name in stages], args.overwrite)
    # Every stage's flags are parsed before the first stage trains, so that a bad one does not wait for it.
    runs = {}
    for index, (name, _, _) in enumerate(STAGES):
        if name in stages:
            flags = stage_flags(index, epochs=args.epochs, warmup=args.warmup, final_epochs=args.final_epochs,
                                final_warmup=args.final_warmup)
            flags += ['--output_dir', str(stage_dir(args.output_dir, name))]
            runs[name] = (flags, train_mlp_pytorch.build_parser().parse_args(
                flags + ['--overwrite'] * args.overwrite + args.extra))

    for name, (flags, run_args) in runs.items():
        print(f'== {name}: python train_mlp_pytorch.py {" ".join(flags)}', flush=True)
        config, train_step, evaluate, saving = train_mlp_pytorch.prepare(run_args)
        train_utils.train_past_divergence(config, train_step, evaluate, run_args, **saving)
    done = [name for name, _, _ in STAGES if (stage_dir(args.output_dir, name) / 'metrics.json').exists()]
    print(write_table(args.output_dir, done))


if __name__ == '__main__':
    main()
