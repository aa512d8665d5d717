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


def test_default_rates_are_nine_log_spaced_from_1e_6_to_100():
    rates = sweep_learning_rate.build_parser().parse_args([]).learning_rates
    assert rates == [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0]


def test_rates_that_would_share_a_run_folder_are_refused(capsys):
    status, stderr = run_main(sweep_learning_rate.main, ['--learning_rates', '1e-3,1.0000001e-3'], capsys)
    assert status == 2 and stderr.endswith(': error: argument --learning_rates: 0.001 and 0.0010000001 would share '
                                           'the run folder lr_0.001; expected rates that differ in 6 significant '
                                           'digits\n')
