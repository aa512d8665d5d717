"""The NumPy training script end to end: synthetic data, the real copy when present, bad flags, divergence."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import train_mlp_numpy
from command_line import run_main
from prepared_run import assert_seed_decides, built
from runkit import datasets
from test_cifar10_utils import REAL_COPY

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SYNTHETIC = ['--dataset', 'fake_cifar10', '--max_steps', '150', '--eval_freq', '50', '--batch_size', '100']


def test_synthetic_run_beats_chance_and_writes_metrics_and_curves(tmp_path):
    metrics = train_mlp_numpy.main(SYNTHETIC + ['--output_dir', str(tmp_path)])
    saved = json.loads((tmp_path / 'metrics.json').read_text())
    assert saved == json.loads(json.dumps(metrics))
    assert saved['status'] == 'completed' and saved['steps'] == [1, 50, 100, 150]
    for key in ('train_loss', 'train_accuracy', 'test_loss', 'test_accuracy'):
        assert len(saved[key]) == 4
    assert saved['final_test_accuracy'] == saved['test_accuracy'][-1] > 0.5  # chance is 0.1
    assert saved['best_test_accuracy'] == max(saved['test_accuracy'])
    assert saved['test_loss'][-1] < saved['test_loss'][0]
    assert saved['config']['dnn_hidden_units'] == [100] and saved['config']['learning_rate'] == 2e-3
    assert saved['wall_time_s'] > 0
    assert (tmp_path / 'curves.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'


@pytest.mark.usefixtures('figures_unrendered')
def test_same_seed_same_curves(tmp_path):
    flags = SYNTHETIC + ['--max_steps', '20', '--eval_freq', '10', '--seed', '3']
    first = train_mlp_numpy.main(flags + ['--output_dir', str(tmp_path / 'a')])
    second = train_mlp_numpy.main(flags + ['--output_dir', str(tmp_path / 'b')])
    assert first['train_loss'] == second['train_loss'] and first['test_loss'] == second['test_loss']


def test_seed_sets_the_initial_weights_and_the_batch_order_not_the_data(tmp_path):
    def seed_state(seed):
        _, made = built(train_mlp_numpy, ['--seed', str(seed)], model=(train_mlp_numpy, 'MLP'),
                        data=(datasets, 'load'))
        train = made['data'][0]['train']
        return ([params['weight'] for params, _ in made['model'].parameters()],
                [train.next_batch(8)[0] for _ in range(3)], [train.images])

    assert_seed_decides(seed_state(1), seed_state(1), seed_state(2))


@pytest.mark.usefixtures('figures_unrendered')
def test_logistic_regression_with_empty_hidden_units(tmp_path):
    metrics = train_mlp_numpy.main(SYNTHETIC + ['--dnn_hidden_units', '', '--output_dir', str(tmp_path)])
    assert metrics['final_test_accuracy'] > 0.5


@pytest.mark.parametrize('flags,message', [
    (['--dnn_hidden_units', '100,abc'], 'comma-separated positive integers'),
    (['--dnn_hidden_units', '100,0'], 'comma-separated positive integers'),
    (['--learning_rate', '0'], 'expected a positive number'),
    (['--learning_rate', 'nan'], 'expected a positive number'),
    (['--batch_size', '-5'], 'expected a positive integer'),
    (['--max_steps', '1.5'], 'expected an integer'),
    (['--neg_slope', '2'], 'expected a number in [0, 1]'),
    (['--dataset', 'mnist'], "invalid choice: 'mnist'"),
])
def test_bad_flags_give_one_line_errors(flags, message, capsys):
    status, stderr = run_main(train_mlp_numpy.main, ['--dataset', 'fake_cifar10', *flags], capsys)
    assert status != 0
    assert message in stderr
    assert len(stderr.strip().splitlines()) == 1, stderr


def test_the_script_itself_reports_a_bad_flag_in_one_line():
    result = subprocess.run([sys.executable, 'train_mlp_numpy.py', '--batch_size', '-5'], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and result.stdout == ''
    assert result.stderr == "train_mlp_numpy.py: error: argument --batch_size: expected a positive integer, got '-5'\n"


def test_missing_data_offline_gives_one_line_error(tmp_path, monkeypatch, capsys):
    import torchvision.datasets.utils

    def offline(*args, **kwargs):
        raise OSError('network unreachable')

    monkeypatch.setattr(torchvision.datasets.utils, 'download_and_extract_archive', offline)
    folder = str(tmp_path / 'cifar-10-batches-py')
    status, stderr = run_main(train_mlp_numpy.main, ['--data_dir', folder, '--output_dir', str(tmp_path / 'run')],
                              capsys)
    assert status != 0
    assert '--dataset fake_cifar10' in stderr and folder in stderr
    assert len(stderr.strip().splitlines()) == 1, stderr


@pytest.mark.filterwarnings('ignore:overflow encountered:RuntimeWarning',
                            'ignore:invalid value encountered:RuntimeWarning')  # how a loss stops being finite
@pytest.mark.usefixtures('figures_unrendered')
def test_divergence_stops_the_run_and_keeps_what_was_recorded(tmp_path, capsys):
    status, stderr = run_main(train_mlp_numpy.main, ['--dataset', 'fake_cifar10', '--learning_rate', '1e30',
                                                     '--max_steps', '200', '--eval_freq', '1',
                                                     '--output_dir', str(tmp_path)], capsys)
    assert status == 1
    assert 'loss became' in stderr
    saved = json.loads((tmp_path / 'metrics.json').read_text())
    assert saved['status'] == 'diverged' and saved['diverged_at_step'] > 1
    assert len(saved['steps']) == saved['diverged_at_step'] - 1
    assert np.isfinite(saved['train_loss']).all()
    assert (tmp_path / 'curves.png').exists()


@pytest.mark.skipif(not os.path.isdir(REAL_COPY), reason='no CIFAR-10 copy in cifar10/')
@pytest.mark.usefixtures('figures_unrendered')
def test_short_run_on_the_real_copy_learns(tmp_path):
    metrics = train_mlp_numpy.main(['--data_dir', REAL_COPY, '--max_steps', '150', '--eval_freq', '150',
                                    '--output_dir', str(tmp_path)])
    assert metrics['final_test_accuracy'] > 0.35
