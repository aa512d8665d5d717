"""The sigmoid-versus-ReLU experiment: same start for both, the vanishing gradient visible at step 0."""
import json
import os
import signal

import numpy as np
import pytest

import sigmoid_vs_relu
from command_line import run_main


def test_both_activations_start_from_the_same_weights():
    sigmoid, relu = (sigmoid_vs_relu.make_network(name, 3, 8, seed=1) for name in ('sigmoid', 'relu'))
    for (a, _), (b, _) in zip(sigmoid.parameters(), relu.parameters(), strict=True):
        np.testing.assert_array_equal(a['weight'], b['weight'])


def test_short_run_records_curves_and_the_vanishing_gradient(tmp_path):
    sigmoid_vs_relu.main(['--max_steps', '20', '--eval_freq', '10', '--num_points', '200',
                          '--output_dir', str(tmp_path)])
    runs = json.loads((tmp_path / 'metrics.json').read_text())['runs']
    assert (tmp_path / 'curves.png').read_bytes()[:4] == b'\x89PNG'
    for run in runs.values():
        assert run['steps'] == [0, 10, 20]
        assert len(run['weight_grad_norms'][0]) == 7 and len(run['hidden_spread_at_init']) == 6
    first_layer = {name: run['weight_grad_norms'][0][0] for name, run in runs.items()}
    assert first_layer['sigmoid'] < first_layer['relu'] / 10
    assert np.all(np.diff(runs['sigmoid']['weight_grad_norms'][0]) > 0), 'grows towards the output'


@pytest.mark.usefixtures('figures_unrendered')
def test_a_stop_request_ends_the_experiment_after_its_step_with_what_was_recorded(tmp_path, monkeypatch, capsys):
    sgd_step, steps = sigmoid_vs_relu.sgd_step, []

    def step_then_request_a_stop(model, learning_rate):
        sgd_step(model, learning_rate)
        steps.append(1)
        if len(steps) == 3:
            os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(sigmoid_vs_relu, 'sgd_step', step_then_request_a_stop)
    status, stderr = run_main(sigmoid_vs_relu.main, ['--max_steps', '20', '--eval_freq', '10', '--num_points', '200',
                                                     '--output_dir', str(tmp_path)], capsys)
    assert status == 1 and stderr.splitlines()[-1] == f'interrupted; what was recorded is in {tmp_path}'
    metrics = json.loads((tmp_path / 'metrics.json').read_text())
    assert metrics['status'] == 'interrupted' and list(metrics['runs']) == ['sigmoid']
    assert metrics['runs']['sigmoid']['status'] == 'interrupted' and metrics['runs']['sigmoid']['steps'] == [0, 3]
    assert (tmp_path / 'curves.png').exists() and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
