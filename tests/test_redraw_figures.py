"""experiments/redraw_figures.py: every figure a run drew is drawn again from what it logged, byte for byte the same;
a folder it cannot draw from is a one-line error."""
import functools
import json
from pathlib import Path

import pytest

import evaluate
import plot_confusion_matrix
import plot_lr_schedule
import redraw_figures
import runkit
import train_mlp_autodiff
import train_mlp_pytorch
from command_line import run_main
from runkit import plots
from test_evaluate import use_synthetic
from test_figure_sizes import autodiff_seeds, seed_study, sigmoid_vs_relu, sweep, tta_study
from test_make_report import ROOT
from test_reports import png_inches_and_dpi

SYNTHETIC = ['--dataset', 'fake_cifar10', '--max_steps', '4', '--eval_freq', '2', '--batch_size', '16']


def drawn_again(folder, capsys):
    """{figure name: its bytes} as the run drew them, and as redraw_figures draws them after each was spoiled."""
    figures = {path.name: path.read_bytes() for path in folder.glob('*.png')}
    for name in figures:
        (folder / name).write_bytes(b'spoilt')
    assert run_main(redraw_figures.main, [str(folder.parent)], capsys)[0] == 0
    return figures, {name: (folder / name).read_bytes() for name in figures}


def test_a_runs_curves_schedule_and_analysis_are_drawn_again_the_same(tmp_path, monkeypatch, capsys):
    use_synthetic(monkeypatch, num_test=30)
    run = tmp_path / 'results' / 'run'
    train_mlp_pytorch.main(SYNTHETIC + ['--lr_schedule', 'onecycle', '--warmup_steps', '2', '--output_dir', str(run)])
    plot_lr_schedule.run([str(run)])
    evaluate.main([str(run)])
    (run / 'first_layer.png').unlink()  # needs the model: not drawn again
    drawn, again = drawn_again(run, capsys)
    assert set(drawn) == {'curves.png', 'lr_schedule.png', 'confusion_matrix.png', 'misclassified.png'}
    assert again == drawn


@pytest.mark.parametrize('validation_size', ['500', '0'])  # the points of a smaller validation split, or the test's
def test_an_autodiff_runs_decision_boundary_is_drawn_again_from_its_model(tmp_path, capsys, validation_size):
    run = tmp_path / 'results' / 'run'
    train_mlp_autodiff.main(['--max_steps', '20', '--validation_size', validation_size, '--output_dir', str(run)])
    drawn, again = drawn_again(run, capsys)
    assert set(drawn) == {'curves.png', 'decision_boundary.png'} and again == drawn


def test_a_uva_2022_runs_confusion_matrix_and_f_beta_are_drawn_again_as_their_script_drew_them(tmp_path, capsys):
    run = tmp_path / 'results' / 'run'
    run.mkdir(parents=True)
    confusion = [[float(40 + 900 * (true == guess)) for guess in range(10)] for true in range(10)]  # as it records them
    (run / 'metrics.json').write_text(json.dumps({'test_confusion_matrix': confusion,
                                                  'test_f_beta': {'1': [0.5] * 10, '10': [0.6] * 10}}))
    plot_confusion_matrix.run([str(run)])
    drawn, again = drawn_again(run, capsys)
    assert set(drawn) == {'confusion_matrix.png', 'f_beta.png'} and again == drawn


STUDIES = {  # a study's figure: its metrics.json, as tests/test_figure_sizes.py makes one up, and what draws it
    'final_test_accuracy_per_seed.png': (seed_study, 'plot_seed_spread'),
    'final_validation_accuracy.png': (lambda: {**autodiff_seeds(), 'stuck_below': 0.9}, 'plot_autodiff_seeds'),
    'curves.png': (sigmoid_vs_relu, 'plot_sigmoid_vs_relu'),
    'validation_accuracy.png': (tta_study, 'plot_tta_study'),
    'validation_accuracy_vs_learning_rate.png': (lambda: {'runs': sweep(), 'best_learning_rate': 0.1}, 'plot_sweep'),
}


@pytest.mark.parametrize('figure', STUDIES)
def test_each_studys_figure_is_drawn_by_the_function_its_study_draws_it_with(figure, tmp_path, monkeypatch, capsys):
    make, function = STUDIES[figure]
    (tmp_path / 'metrics.json').write_text(json.dumps(make()))
    (tmp_path / figure).write_bytes(b'old')
    called = []

    def record(*args, name):
        called.append(name)
        if str(args[-1]).endswith('.png'):
            Path(args[-1]).write_bytes(b'new')
    for name in [name for name in vars(plots) if name.startswith('plot_')] + ['plot_curves']:
        monkeypatch.setattr(runkit if name == 'plot_curves' else plots, name, functools.partial(record, name=name))
    assert run_main(redraw_figures.main, [str(tmp_path)], capsys)[0] == 0
    assert called == [function]


@pytest.mark.parametrize('content, message', [
    (None, 'no metrics.json under the folders given'),
    ('not json', 'its figures cannot be drawn from what it logged (JSONDecodeError'),
    ('{"config": {}, "steps": [1, 2], "train_loss": [1.0]}', 'its figures cannot be drawn from what it logged'),
], ids=['missing', 'not-json', 'not-a-run'])
def test_a_folder_whose_figures_cannot_be_drawn_is_a_one_line_error(tmp_path, capsys, content, message):
    if content is not None:
        (tmp_path / 'metrics.json').write_text(content)
        (tmp_path / 'curves.png').write_bytes(b'kept')
    status, stderr = run_main(redraw_figures.main, [str(tmp_path)], capsys)
    assert status == 1 and message in stderr.splitlines()[-1], stderr
    if content is not None:
        assert (tmp_path / 'curves.png').read_bytes() == b'kept'


def test_every_committed_figure_is_drawn_at_most_the_text_block_wide():
    """What the figure functions draw now (tests/test_figure_sizes.py); a committed figure drawn in an older style is
    drawn again with `bash experiments/reproduce.sh figures`."""
    from runkit import TEXT_WIDTH
    for path in sorted((ROOT / 'results').rglob('*.png')):
        inches, dpi = png_inches_and_dpi(path.read_bytes())
        assert inches <= TEXT_WIDTH + 0.01 and dpi >= 150, f'{path.relative_to(ROOT)}: {inches:.2f} in at {dpi:.0f} dpi'
