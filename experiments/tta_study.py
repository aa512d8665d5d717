"""Test-time augmentation study: which views of each image the ConvNet's evaluation averages over, chosen on a
validation split.

    python experiments/tta_study.py results/convnet_val --output_dir results/convnet_tta_study

Takes a ConvNet run trained with a validation split (--validation_size), rebuilds that split as the run saw it, and
evaluates the run's model on it with every candidate set of views (torch_utils.views): the image alone or with its
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
import cifar10_utils  # noqa: E402
import evaluate  # noqa: E402
import torch_utils  # noqa: E402
import train_convnet_pytorch  # noqa: E402
import train_utils  # noqa: E402

CANDIDATES = [{'tta': mirror, 'tta_shift': shift} for shift in (0, 1, 2) for mirror in (False, True)]


def build_parser():
    parser = train_utils.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('run_dir', help='a ConvNet run trained with --validation_size: its model.pt')
    parser.add_argument('--output_dir', default='runs/convnet_tta_study')
    parser.add_argument('--overwrite', action='store_true', help='replace the study that --output_dir already holds')
    parser.add_argument('--threads', type=train_utils.thread_count, default=None,
                        help="CPU threads (default: PyTorch's, one per core)")
    return parser


def choose(candidates):
    """The candidate of the highest validation accuracy; of fewer views on a tie."""
    return max(candidates, key=lambda candidate: (candidate['validation_accuracy'], -candidate['views']))


def plot(study, path):
    """Validation accuracy of every candidate, the chosen one marked."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    candidates = study['candidates']
    labels = [f'{"mirror" if c["tta"] else "no mirror"}, shift {c["tta_shift"]}\n'
              f'({c["views"]} view{"s" * (c["views"] > 1)})' for c in candidates]
    accuracies = [c['validation_accuracy'] for c in candidates]
    colours = ['tab:orange' if c == study['chosen'] else 'tab:blue' for c in candidates]
    fig, ax = plt.subplots(figsize=(8, 3.8))
    # Points, not bars: the axis does not start at 0, the candidates differ by tenths of a point.
    ax.scatter(range(len(candidates)), accuracies, color=colours, s=60, zorder=3)
    for x, accuracy in enumerate(accuracies):
        ax.annotate(f'{accuracy:.4f}', (x, accuracy), textcoords='offset points', xytext=(0, 8), ha='center',
                    fontsize=8)
    ax.set_xticks(range(len(candidates)), labels, fontsize=8)
    low, high = min(accuracies), max(accuracies)
    margin = max(high - low, 0.002)
    ax.set_ylim(low - margin, high + margin)
    ax.set_ylabel(f'validation accuracy ({study["num_validation"]} images)')
    ax.set_title(f'{study["config"]["run_dir"]}: test-time views averaged over (orange: chosen)')
    ax.grid(axis='y', alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if os.path.realpath(args.output_dir) == os.path.realpath(args.run_dir):
        sys.exit('error: --output_dir is the run\'s own folder; expected another, as the study would replace the run')
    try:
        model, config = train_convnet_pytorch.load_model(os.path.join(args.run_dir, 'model.pt'))
        validation, data = evaluate.run_split(config, split='validation')
    except (train_utils.ModelFileError, cifar10_utils.DataError) as error:
        sys.exit(f'error: {error}')
    train_utils.check_output_dir(args)
    images, autocast_dtype = evaluate.as_model_input(config, validation.images)
    labels = torch.from_numpy(validation.labels)
    candidates = []
    for candidate in CANDIDATES:
        mirror, shift = candidate['tta'], candidate['tta_shift']
        loss, accuracy = torch_utils.evaluate(model, images, labels, train_convnet_pytorch.EVAL_BATCH, autocast_dtype,
                                              mirror=mirror, shift=shift)
        views = len(torch_utils.views(images[:1], mirror, shift))
        candidates.append({**candidate, 'views': views, 'validation_loss': loss, 'validation_accuracy': accuracy})
        print(f'tta {mirror!s:5}  tta_shift {shift}  ({views} view{"s" * (views > 1)}): '
              f'validation accuracy {accuracy:.4f}, loss {loss:.4f}')
    study = {'config': {**vars(args), 'dataset': config['dataset'], 'run_config': config}, 'data': data,
             'num_validation': len(labels),
             'rule': 'the highest validation accuracy; fewer views on a tie', 'candidates': candidates,
             'chosen': choose(candidates)}
    plot(study, os.path.join(args.output_dir, 'validation_accuracy.png'))
    train_utils.write_atomically(os.path.join(args.output_dir, 'metrics.json'),
                                 lambda path: train_utils.write_json(path, study))
    chosen = study['chosen']
    print(f'chosen: --{"" if chosen["tta"] else "no-"}tta --tta_shift {chosen["tta_shift"]} '
          f'({chosen["views"]} view{"s" * (chosen["views"] > 1)})')
    return study


if __name__ == '__main__':
    main()
