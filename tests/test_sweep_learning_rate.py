"""The learning-rate sweep records diverging rates as such and carries on."""
import json

import pytest

import sweep_learning_rate
from command_line import run_main


@pytest.mark.usefixtures('run_curves_unrendered')
def test_tiny_sweep_with_a_huge_learning_rate(tmp_path):
    sweep = sweep_learning_rate.main(['--dataset', 'fake_cifar10', '--learning_rates', '1e-6,0.2,1e30',
                                      '--epochs', '2', '--validation_size', '500', '--output_dir', str(tmp_path)])
    runs = {run['learning_rate']: run for run in sweep['runs']}
    assert runs[1e30]['status'] == 'diverged' and runs[1e30]['diverged_at_step'] >= 1
    assert runs[0.2]['status'] == runs[1e-6]['status'] == 'completed'
    assert runs[0.2]['best_validation_accuracy'] > 0.5 > runs[1e-6]['best_validation_accuracy']
    assert sweep['best_learning_rate'] == 0.2
    assert json.loads((tmp_path / 'metrics.json').read_text())['best_learning_rate'] == 0.2
    for figure in ('validation_accuracy_vs_learning_rate.png', 'training_loss_per_learning_rate.png'):
        assert (tmp_path / figure).read_bytes()[:4] == b'\x89PNG'
    assert (tmp_path / 'lr_1e+30' / 'metrics.json').exists()
    # Every run is evaluated after each of its first steps, so a divergence shows how it comes.
    assert runs[0.2]['steps'][:5] == [1, 2, 3, 4, 5]


def test_a_diverged_rate_is_drawn_at_the_accuracy_it_reached_and_marked(tmp_path, drawn_figures):
    from runkit import plots
    runs = [{'learning_rate': 0.1, 'status': 'completed', 'diverged_at_step': None, 'best_validation_accuracy': 0.45,
             'steps': [1, 2, 3], 'train_loss': [2.3, 2.0, 1.8]},
            {'learning_rate': 10.0, 'status': 'diverged', 'diverged_at_step': 4, 'best_validation_accuracy': 0.19,
             'steps': [1, 2, 3], 'train_loss': [2.3, 40.0, 900.0]}]
    plots.plot_sweep(runs, str(tmp_path))
    accuracy, (early, whole) = drawn_figures[0].axes[0], drawn_figures[1].axes
    crosses = [line for line in accuracy.get_lines() if line.get_marker() == 'x']
    assert [list(line.get_xydata()[0]) for line in crosses] == [[10.0, 0.19]]
    assert 'diverged' in crosses[0].get_label()
    assert [text.get_text() for text in accuracy.texts] == ['step 4']
    # Its loss up to the last finite value, dashed, with a cross there; the whole-run panel holds the others only.
    assert [list(line.get_ydata()) for line in early.get_lines() if line.get_linestyle() == '--'] == \
        [[2.3, 40.0, 900.0]]
    assert [list(line.get_xydata()[0]) for line in early.get_lines() if line.get_marker() == 'x'] == [[3.0, 900.0]]
    assert [line.get_label() for line in whole.get_lines()] == ['lr 0.1']


def test_default_rates_are_nine_log_spaced_from_1e_6_to_100():
    rates = sweep_learning_rate.build_parser().parse_args([]).learning_rates
    assert rates == [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0]


def test_rates_that_would_share_a_run_folder_are_refused(capsys):
    status, stderr = run_main(sweep_learning_rate.main, ['--learning_rates', '1e-3,1.0000001e-3'], capsys)
    assert status == 2 and stderr.endswith(': error: argument --learning_rates: 0.001 and 0.0010000001 would share '
                                           'the run folder lr_0.001; expected rates that differ in 6 significant '
                                           'digits\n')
