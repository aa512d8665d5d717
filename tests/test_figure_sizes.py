"""Every figure of the project is drawn at the size it prints: at most the reports' 5.5-inch text block wide (pandoc
prints a PNG at its natural size, its pixels over the dpi saved in it, and shrinks only a wider one), with no text
in it under 8 points at that size, none cut by its edge or overlapping another, and no title in it (the report's
caption says what it shows). Each figure function draws from small made-up inputs, through the caller that names
its file where there is one, and each figure is read as it is about to be saved."""
import json
import re
import sys
import types

import matplotlib
import matplotlib.figure
import matplotlib.text
import numpy as np
import pytest

import evaluate
import plot_confusion_matrix
import runkit
from cifar10_utils import CLASSES
from runkit import analyses, models, plots

TEXT_WIDTH = 5.5  # inches: the text block of report/make_report.py's LAYOUT
SMALLEST = 8  # points
SHARP = 150  # dots per inch at the least


def problems(figure, dpi, bbox_inches):
    """What keeps the figure from printing at its size with readable text, as lines."""
    found, width = [], figure.get_size_inches()[0]
    if width > TEXT_WIDTH + 1e-9:
        found.append(f'{width:.2f} inches wide, wider than the text ({TEXT_WIDTH})')
    dpi = figure.dpi if dpi == 'figure' else dpi
    figure.set_dpi(50)  # drawn coarsely, which is quicker: sizes in points and inches are the same at any dpi
    figure.canvas.draw()  # the ticks and their labels as they will be printed
    if dpi < SHARP:
        found.append(f'saved at {dpi} dpi, less than {SHARP}')
    if bbox_inches == 'tight':
        found.append('saved with bbox_inches="tight", which changes the size it prints at')
    found += [f'{text.get_fontsize():.1f} points: {text.get_text()!r}' for text in figure.findobj(matplotlib.text.Text)
              if text.get_visible() and text.get_text().strip() and text.get_fontsize() < SMALLEST]
    found += [f'a title: {ax.get_title(loc)!r}' for ax in figure.axes for loc in ('left', 'center', 'right')
              if ax.get_title(loc)]
    suptitle = figure._suptitle.get_text() if figure._suptitle else ''  # Figure.get_suptitle() is matplotlib 3.8's
    if suptitle:
        found.append(f'a suptitle: {suptitle!r}')
    return found + cut_or_overlapping(figure)


def cut_or_overlapping(figure):
    """The texts that the figure's edge cuts (axis labels, legends, annotations, texts placed in the figure), and
    those of one axes that overlap (an image grid's captions, a confusion matrix's counts), as lines."""
    renderer, found = figure.canvas.get_renderer(), []
    legends = figure.legends + [ax.get_legend() for ax in figure.axes if ax.get_legend()]
    texts = figure.texts + [text for legend in legends for text in legend.get_texts()] + \
        [text for ax in figure.axes for text in (*ax.texts, ax.xaxis.label, ax.yaxis.label)]
    edges = figure.bbox.padded(1)
    for text in texts:
        box = text.get_window_extent(renderer)
        if text.get_visible() and text.get_text().strip() and not (edges.contains(box.x0, box.y0)
                                                                   and edges.contains(box.x1, box.y1)):
            found.append(f'cut by the edge of the figure: {text.get_text()!r}')
    for ax in figure.axes:
        boxes = [(text.get_text(), text.get_window_extent(renderer)) for text in ax.texts]
        found += [f'overlapping: {a!r} and {b!r}' for i, (a, box) in enumerate(boxes) for b, other in boxes[i + 1:]
                  if box.overlaps(other)]
    return found


@pytest.fixture
def saved(monkeypatch):
    """{file name: what is wrong with its figure} of every figure saved, each read as savefig is called (which then
    writes an empty file in its place)."""
    figures = {}

    def check(figure, path, dpi=None, bbox_inches=None, **kwargs):
        dpi = matplotlib.rcParams['savefig.dpi'] if dpi is None else dpi
        bbox_inches = matplotlib.rcParams['savefig.bbox'] if bbox_inches is None else bbox_inches
        name = re.sub(r'^\.(.*)\.\d+\.tmp(\.png)$', r'\1\2', str(path).rsplit('/', 1)[-1])  # write_atomically's
        figures[name] = problems(figure, dpi, bbox_inches)
        open(path, 'wb').close()

    monkeypatch.setattr(matplotlib.figure.Figure, 'savefig', check)
    return figures


def curves(config, splits=('train', 'validation', 'test')):
    steps = list(range(0, 1600, 100))
    return {'config': config, 'steps': steps, **{f'{split}_{quantity}': list(np.linspace(2.3, 1.2, len(steps)))
                                                  for split in splits for quantity in ('loss', 'accuracy')}}


def sweep():
    rates = [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0]
    steps = list(range(1, 51)) + list(range(100, 1900, 50))
    return [{'learning_rate': rate, 'status': 'completed', 'diverged_at_step': None, 'steps': steps,
             'best_validation_accuracy': 0.1 + 0.06 * i, 'train_loss': list(np.linspace(2.3, 2.3 - 0.15 * i, 86))}
            if rate < 1 else
            {'learning_rate': rate, 'status': 'diverged', 'diverged_at_step': 30 - 8 * (i - 6), 'steps': steps[:8],
             'best_validation_accuracy': 0.15, 'train_loss': list(np.geomspace(2.3, 1e30, 8))}
            for i, rate in enumerate(rates)]


def seed_study():
    rng = np.random.default_rng(0)
    runs = [{'seed': seed, 'steps': list(range(0, 1600, 100)), 'test_accuracy': list(rng.uniform(0.35, 0.48, 16)),
             'final_test_accuracy': float(rng.uniform(0.4, 0.49))} for seed in range(20)]
    return {'runs': runs, 'final_test_accuracy': {'mean': 0.4633, 'std': 0.0234}, 'assignment_expectation': 0.46}


def autodiff_seeds():
    groups = [{'activation': activation, 'learning_rate': rate} for activation in ('sigmoid', 'relu')
              for rate in (0.1, 1.28, 12.8)]
    runs = [{**group, 'seed': seed, 'final_validation_accuracy': 0.95 - 0.01 * seed} for group in groups
            for seed in range(10)]
    return {'groups': groups, 'runs': runs, 'validation_majority_share': 0.5447, 'config': {'seeds': list(range(10))}}


def sigmoid_vs_relu():
    steps = list(range(0, 4001, 50))
    runs = {name: {'steps': steps, 'train_loss': list(np.linspace(0.7, low, len(steps))),
                   'test_accuracy': list(np.linspace(0.5, high, len(steps))),
                   'weight_grad_norms': [list(np.geomspace(first, 0.5, 7))] * len(steps)}
            for name, low, high, first in (('sigmoid', 0.69, 0.5, 1e-4), ('relu', 0.01, 1.0, 2e-2))}
    return {'runs': runs, 'config': {'depth': 6, 'width': 32, 'learning_rate': 0.05, 'batch_size': 50}}


def tta_study():
    candidates = [{'tta': tta, 'tta_shift': shift, 'views': (1 + 2 * bool(shift)) * (1 + tta),
                   'validation_accuracy': 0.857 + 0.002 * shift + 0.004 * tta} for shift in (0, 1, 2)
                  for tta in (False, True)]
    return {'candidates': candidates, 'chosen': candidates[-1], 'num_validation': 5000,
            'config': {'run_dir': 'results/convnet_val'}}


def boundaries(tmp_path, monkeypatch, count):
    """plot_decision_boundaries of `count` panels, as report/make_report.py names them, a made-up model's."""
    def log_probabilities(model, grid):
        probability = 1 / (1 + np.exp(-(grid[:, 0] * grid[:, 1] + 0.3)))
        return np.log(np.stack([1 - probability, probability], axis=1) + 1e-12)

    monkeypatch.setattr(models, 'log_probabilities', log_probabilities)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2000, 2)).astype(np.float32)
    plots.plot_decision_boundaries([(f'{name}, lr 12.8', None) for name in ('sigmoid', 'relu')[:count]], x,
                                   (x[:, 0] * x[:, 1] > 0).astype(int), tmp_path / f'decision_boundary_{count}.png')


def evaluation(tmp_path, monkeypatch):
    """analyses.write_figures of a CIFAR-10 MLP: the confusion matrix, the misclassified images, the first layer."""
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 200)
    probabilities = rng.dirichlet(np.ones(10) * 0.1, 200)
    analysis = {'classes': list(CLASSES), 'data': {'dataset': 'cifar10', 'data_dir': 'cifar10'}, 'test_accuracy': 0.45,
                'confusion_matrix': (rng.integers(0, 60, (10, 10)) + np.eye(10, dtype=int) * 900).tolist(),
                'misclassified': evaluate.shown_wrong(probabilities.argmax(axis=1), probabilities, labels, CLASSES)}
    analyses.write_figures(str(tmp_path), analysis, rng.integers(0, 256, (200, 3, 32, 32), dtype=np.uint8),
                           first_layer=rng.normal(size=(18, 3, 32, 32)))


def confusion_and_f_beta(tmp_path):
    """experiments/plot_confusion_matrix.py's two figures of a run of UvA 2022's template."""
    confusion = (np.full((10, 10), 40) + np.eye(10, dtype=int) * 1000).tolist()
    f_beta = {str(beta): list(np.linspace(0.2, 0.9, 10)) for beta in (0.1, 1, 10)}
    (tmp_path / 'metrics.json').write_text(json.dumps({'test_confusion_matrix': confusion, 'test_f_beta': f_beta}))
    plot_confusion_matrix.run([str(tmp_path)])


def schedule(tmp_path, monkeypatch):
    """plot_lr_schedule with a made-up schedule: runkit.optimisers, which has the real one, imports torch (seconds)."""
    monkeypatch.setitem(sys.modules, 'runkit.optimisers',
                        types.SimpleNamespace(lr_factor=lambda schedule, step, total, warmup: min(step / warmup, 1)))
    plots.plot_lr_schedule({'max_steps': 200, 'steps_per_epoch': 20, 'learning_rate': 0.1, 'lr_schedule': 'onecycle',
                            'warmup_steps': 20}, tmp_path / 'lr_schedule.png')


REGULARISED = {'label_smoothing': 0.1, 'dropout': 0.1, 'augment': True, 'tta': True, 'tta_shift': 2}
# Every figure function, the figures it saves, and a way to draw them.
FIGURES = {
    'plot_curves': (['curves_plain.png', 'curves_regularised.png'], lambda tmp_path, monkeypatch: (
        runkit.plot_curves(curves({'learning_rate': 0.01}, ('train', 'test')), tmp_path / 'curves_plain.png'),
        runkit.plot_curves(curves(REGULARISED), tmp_path / 'curves_regularised.png'))),
    'plot_decision_boundaries': (['decision_boundary_1.png', 'decision_boundary_2.png'],
                                 lambda tmp_path, monkeypatch: [boundaries(tmp_path, monkeypatch, count)
                                                                for count in (1, 2)]),
    'plot_confusion, plot_images': (['confusion_matrix.png', 'misclassified.png', 'first_layer.png'], evaluation),
    'plot_f_beta': (['confusion_matrix.png', 'f_beta.png'],
                    lambda tmp_path, monkeypatch: confusion_and_f_beta(tmp_path)),
    'plot_sweep': (['validation_accuracy_vs_learning_rate.png', 'training_loss_per_learning_rate.png'],
                   lambda tmp_path, monkeypatch: plots.plot_sweep(sweep(), str(tmp_path))),
    'plot_seed_spread': (['seeds.png'],
                         lambda tmp_path, monkeypatch: plots.plot_seed_spread(seed_study(), tmp_path / 'seeds.png')),
    'plot_autodiff_seeds': (['autodiff_seeds.png'], lambda tmp_path, monkeypatch: plots.plot_autodiff_seeds(
        autodiff_seeds(), tmp_path / 'autodiff_seeds.png')),
    'plot_sigmoid_vs_relu': (['sigmoid_vs_relu.png'], lambda tmp_path, monkeypatch: plots.plot_sigmoid_vs_relu(
        sigmoid_vs_relu(), tmp_path / 'sigmoid_vs_relu.png')),
    'plot_tta_study': (['tta.png'], lambda tmp_path, monkeypatch: plots.plot_tta_study(tta_study(),
                                                                                      tmp_path / 'tta.png')),
    'plot_lr_schedule': (['lr_schedule.png'], lambda tmp_path, monkeypatch: schedule(tmp_path, monkeypatch)),
}


@pytest.mark.parametrize('functions', FIGURES)
def test_each_figure_prints_at_its_size_with_text_of_8_points_and_no_title(functions, saved, tmp_path, monkeypatch):
    names, draw = FIGURES[functions]
    draw(tmp_path, monkeypatch)
    assert sorted(saved) == sorted(names)
    assert {name: found for name, found in saved.items() if found} == {}


def test_every_figure_function_is_drawn_here():
    drawn = {name for functions in FIGURES for name in functions.split(', ')}
    assert {name for name in vars(plots) if name.startswith('plot_')} | {'plot_curves'} == drawn
