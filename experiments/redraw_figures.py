"""Draw the figures of committed runs again from what the runs logged, in the current style, without training:

    python experiments/redraw_figures.py results            # every run under results/ (reproduce.sh figures)
    python experiments/redraw_figures.py results/lr_sweep   # one run or study, and the runs inside it

Each figure is drawn by the function that drew it, from the files beside it: a run's curves.png and lr_schedule.png
from its metrics.json, a study's figures from its summary, an analysis's as evaluate.py --redraw does, an autodiff
run's decision boundary from its committed model. Only figures already there are drawn again. Left as they are:
first_layer.png, which needs a model that is not committed, and the UvA 2021-2023 comparisons' two figures, which
their own scripts draw at the size they print.
"""
import sys
from pathlib import Path

from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import runkit
from cifar10_utils import DataError
from runkit import analyses, datasets, model_files, models, plots


def decision_boundary(folder, metrics, path):
    """An autodiff run on synth: its model's decision boundary over the points of its first held-out split, as its
    run drew it."""
    config = metrics['config']
    data = datasets.load_dataset('synth', None, validation_size=config['validation_size'], one_hot=False)
    split = datasets.held_out(data)[0]
    model, _ = models.load(folder / 'model.npz', 'autodiff')
    plots.plot_decision_boundaries([(f'{config["activation"]}, lr {config["learning_rate"]:g}', model)],
                                   data[split].images, data[split].labels, path, split)


# (a figure's file name, the key that marks the kind of metrics.json beside it, how to draw it from its folder, that
# metrics.json and a path to write): a figure is drawn by the first entry that matches it; one that none matches is
# another script's (the UvA 2021-2023 comparisons' two, which are drawn at the size they print)
DRAWN = [
    ('curves.png', 'steps', lambda folder, metrics, path: runkit.plot_curves(metrics, path)),
    ('curves.png', 'runs', lambda folder, metrics, path: plots.plot_sigmoid_vs_relu(metrics, path)),
    ('lr_schedule.png', 'steps', lambda folder, metrics, path: plots.plot_lr_schedule(metrics['config'], path)),
    ('final_test_accuracy_per_seed.png', 'assignment_expectation',
     lambda folder, metrics, path: plots.plot_seed_spread(metrics, path)),
    ('final_validation_accuracy.png', 'stuck_below',
     lambda folder, metrics, path: plots.plot_autodiff_seeds(metrics, path)),
    ('validation_accuracy.png', 'candidates', lambda folder, metrics, path: plots.plot_tta_study(metrics, path)),
    ('decision_boundary.png', 'steps', decision_boundary),
    # a run of UvA 2022's template records its test confusion matrix and F-beta (experiments/plot_confusion_matrix.py)
    ('confusion_matrix.png', 'test_confusion_matrix', lambda folder, metrics, path: plots.plot_confusion(
        {'confusion_matrix': metrics['test_confusion_matrix'], 'classes': datasets.CLASSES}, path)),
    ('f_beta.png', 'test_f_beta', lambda folder, metrics, path: plots.plot_f_beta(metrics['test_f_beta'], path)),
]


def redraw(folder):
    """The names of the figures in folder (a run or a study, with its metrics.json) drawn again."""
    metrics, drawn = model_files.read_json(folder / 'metrics.json'), []
    if (folder / 'analysis.json').exists():
        drawn += analyses.redraw(str(folder))
    if 'best_learning_rate' in metrics:  # the learning-rate sweep's two figures
        plots.plot_sweep(metrics['runs'], folder)
        drawn += ['validation_accuracy_vs_learning_rate.png', 'training_loss_per_learning_rate.png']
    for name, key, draw in DRAWN:
        if (folder / name).exists() and key in metrics and name not in drawn:
            runkit.write_atomically(folder / name, lambda temporary: draw(folder, metrics, Path(temporary)))
            drawn.append(name)
    return drawn


def main(argv=None):
    parser = runkit.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('folders', nargs='*', default=['results'], type=Path,
                        help='committed runs or folders of them (default: results)')
    folders = [metrics.parent for folder in parser.parse_args(argv).folders
               for metrics in sorted(folder.rglob('metrics.json'))]
    if not folders:
        sys.exit('error: no metrics.json under the folders given; expected committed runs, such as results/')
    count = 0
    for folder in tqdm(folders, desc='redrawing', unit='folder', dynamic_ncols=True):
        try:
            count += len(redraw(folder))
        except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError, DataError) as error:
            sys.exit(f'error: {folder}: its figures cannot be drawn from what it logged ({type(error).__name__}: '
                     f'{error})')
    print(f'{count} figures drawn again in {len(folders)} folders')


if __name__ == '__main__':
    main()
