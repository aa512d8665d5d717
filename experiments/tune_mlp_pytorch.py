"""The PyTorch MLP's tuning, one reasoned modification at a time, selected on a validation split.

    python experiments/tune_mlp_pytorch.py         # runs every stage, writes results/mlp_pytorch_tuning/
    python experiments/tune_mlp_pytorch.py --table_only   # rebuilds the table from the runs on disk

Every stage (tuning.STAGES) keeps the modifications of the stages before it and adds one. Each run holds out the
first 5,000 training images for validation; the table lists validation and test accuracy, and the stage to keep
is chosen on validation accuracy alone. The last stage trains the final configuration for longer; its run is
results/mlp_pytorch_best. A stage whose loss diverges is recorded as such and the search goes on.
"""
import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import runkit
import train_mlp_pytorch
from runkit import flags, studies, tuning


def parse_args(argv=None):
    parser = runkit.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--epochs', type=flags.positive_int, default=3, help='epochs of every stage after the baseline')
    parser.add_argument('--warmup', type=flags.non_negative_int, default=150,
                        help='warm-up steps of the one-cycle stages')
    parser.add_argument('--final_epochs', type=flags.positive_int, default=35, help='epochs of the final stage')
    parser.add_argument('--final_warmup', type=flags.non_negative_int, default=400,
                        help='warm-up steps of the final stage')
    names = [name for name, _, _ in tuning.STAGES]
    parser.add_argument('--only', nargs='*', choices=names, metavar='STAGE',
                        help='run only these stages (the others are read from disk): ' + ', '.join(names))
    parser.add_argument('--table_only', action='store_true')
    parser.add_argument('--output_dir', type=Path, default=Path('runs'),
                        help=f'folder, relative to the repository root: the stages go to {tuning.TUNING_DIR}/<stage> '
                             f'in it, the last one to {tuning.FINAL_DIR}; the committed ones are in results/')
    parser.add_argument('--overwrite', action='store_true', help='replace stages that the folder already holds')
    parser.add_argument('--extra', nargs=argparse.REMAINDER, default=[],
                        help='flags passed to every run (e.g. --dataset fake_cifar10)')
    return parser.parse_args(argv)


def write_table(results_dir):
    """The table of the stages on disk (tuning.tuning_table), written to TUNING_DIR/table.md and returned."""
    stages = [(name, json.loads((results_dir / folder / 'metrics.json').read_text()))
              for name, folder in tuning.stage_folders(results_dir).items()]
    text = tuning.tuning_table(stages) + '\n'
    (results_dir / tuning.TUNING_DIR).mkdir(parents=True, exist_ok=True)
    (results_dir / tuning.TUNING_DIR / 'table.md').write_text(text)
    return text


def run(argv=None):
    """Train the stages the flags ask for (none with --table_only), then write the table; returns its text."""
    args = parse_args(argv)
    os.chdir(ROOT)
    stages = [name for name, _, _ in tuning.STAGES if not args.table_only and (not args.only or name in args.only)]
    # Every stage's flags are parsed before the first stage trains, so that a bad one does not wait for it.
    configs = {}
    for index, (name, _, _) in enumerate(tuning.STAGES):
        if name in stages:
            stage_flags = tuning.stage_flags(index, epochs=args.epochs, warmup=args.warmup,
                                             final_epochs=args.final_epochs, final_warmup=args.final_warmup)
            folder = tuning.stage_dir(args.output_dir, name)
            stage_flags += ['--output_dir', str(folder)]
            configs[name] = (folder, stage_flags, train_mlp_pytorch.parse_flags(
                stage_flags + ['--overwrite'] * args.overwrite + studies.continuing(args, folder) + args.extra))
    if not stages:
        return write_table(args.output_dir)
    # Every stage's folder is checked before the first stage trains; run again after a stop with the same flags, the
    # search keeps the stages that finished and resumes the one stopped.
    search, why = args.output_dir / tuning.TUNING_DIR, {name: reason for name, reason, _ in tuning.STAGES}
    with studies.open_study(args, [folder for folder, _, _ in configs.values()], search) as plan:
        for done, (name, (folder, stage_flags, config)) in enumerate(configs.items()):
            if plan[str(folder)]:
                print(f'== {name}: finished before; kept', flush=True)
                continue
            print(f'== {name}: {why[name]}\n   python train_mlp_pytorch.py {" ".join(stage_flags)}', flush=True)
            try:
                tuning.train_past_divergence(train_mlp_pytorch, config)
            except studies.STOPS:
                studies.stopped(args, done, len(configs), search)
        table = write_table(args.output_dir)
        studies.close_study(search, {'config': vars(args), 'stages': stages})
    return table


def main(argv=None):
    table = run(argv)
    print(table)
    return table


if __name__ == '__main__':
    main()
