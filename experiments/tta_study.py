"""Test-time augmentation study: which views of each image the ConvNet's evaluation averages over, chosen on a
validation split.

    python experiments/tta_study.py results/convnet_val --output_dir results/convnet_tta_study

Takes a ConvNet run trained with a validation split (--validation_size), rebuilds that split as the run saw it, and
evaluates the run's model on it with every candidate set of views (torch_data.views): the image alone or with its
mirror image, each alone or with its copies moved diagonally by 1 or 2 pixels (--tta, --tta_shift of
train_convnet_pytorch.py and evaluate.py). The rule, fixed before any number was seen: the candidate of the highest
validation accuracy, the one of fewer views on a tie. The test set is never read here.

Writes metrics.json (every candidate's validation loss and accuracy, and the choice) and validation_accuracy.png.
"""
import os
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import runkit
from cifar10_utils import DataError
from runkit import flags, model_files, models, plots, torch_data

CANDIDATES = [{'tta': mirror, 'tta_shift': shift} for shift in (0, 1, 2) for mirror in (False, True)]


def build_parser():
    parser = runkit.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('run_dir', help='a ConvNet run trained with --validation_size: its model.pt')
    parser.add_argument('--output_dir', default='runs/convnet_tta_study')
    parser.add_argument('--overwrite', action='store_true', help='replace the study that --output_dir already holds')
    flags.add_threads_argument(parser)
    return parser


def choose(candidates):
    """The candidate of the highest validation accuracy; of fewer views on a tie."""
    return max(candidates, key=lambda candidate: (candidate['validation_accuracy'], -candidate['views']))


def evaluate_candidates(model, config, validation):
    """Every candidate of CANDIDATES with its view count and the model's validation loss and accuracy over it."""
    images, autocast_dtype = models.as_model_input(config, validation.images)
    labels = torch.from_numpy(validation.labels)
    candidates = []
    for candidate in CANDIDATES:
        mirror, shift = candidate['tta'], candidate['tta_shift']
        loss, accuracy = torch_data.evaluate(model, images, labels, models.EVAL_BATCH['convnet'], autocast_dtype,
                                             mirror=mirror, shift=shift)
        views = len(torch_data.views(images[:1], mirror, shift))
        candidates.append({**candidate, 'views': views, 'validation_loss': loss, 'validation_accuracy': accuracy})
        print(f'tta {mirror!s:5}  tta_shift {shift}  ({views} view{"s" * (views > 1)}): '
              f'validation accuracy {accuracy:.4f}, loss {loss:.4f}')
    return candidates


def run(argv=None):
    """Every candidate evaluated on the run's validation split, the choice made, metrics.json and the figure
    written; returns the study."""
    args = build_parser().parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if os.path.realpath(args.output_dir) == os.path.realpath(args.run_dir):
        sys.exit('error: --output_dir is the run\'s own folder; expected another, as the study would replace the run')
    try:
        model, config = models.load(os.path.join(args.run_dir, 'model.pt'), 'convnet')
        validation, data = models.run_split(config, split='validation')
    except (model_files.ModelFileError, DataError) as error:
        sys.exit(f'error: {error}')
    runkit.prepare_output_dir(args.output_dir, args.overwrite)
    candidates = evaluate_candidates(model, config, validation)
    study = {'config': {**vars(args), 'dataset': config['dataset'], 'run_config': config}, 'data': data,
             'num_validation': len(validation.labels),
             'rule': 'the highest validation accuracy; fewer views on a tie', 'candidates': candidates,
             'chosen': choose(candidates)}
    plots.plot_tta_study(study, os.path.join(args.output_dir, 'validation_accuracy.png'))
    runkit.write_atomically(os.path.join(args.output_dir, 'metrics.json'), lambda path: runkit.write_json(path, study))
    return study


def main(argv=None):
    study = run(argv)
    chosen = study['chosen']
    print(f'chosen: --{"" if chosen["tta"] else "no-"}tta --tta_shift {chosen["tta_shift"]} '
          f'({chosen["views"]} view{"s" * (chosen["views"] > 1)})')
    return study


if __name__ == '__main__':
    main()
