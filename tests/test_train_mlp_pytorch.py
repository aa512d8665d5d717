"""The PyTorch MLP training script end to end on synthetic data, and its agreement with the NumPy script."""
import json

import pytest

import train_mlp_numpy
import train_mlp_pytorch
from prepared_run import TorchRun, assert_seed_decides

SYNTHETIC = ['--dataset', 'synthetic', '--max_steps', '300', '--eval_freq', '100']


def test_default_flags_agree_with_the_numpy_run(tmp_path):
    """Same data, hyper-parameters and step count: the two implementations must learn alike."""
    torch_run = train_mlp_pytorch.main(SYNTHETIC + ['--output_dir', str(tmp_path / 'torch')])
    numpy_run = train_mlp_numpy.main(SYNTHETIC + ['--output_dir', str(tmp_path / 'numpy')])
    assert torch_run['steps'] == numpy_run['steps'] == [1, 100, 200, 300]
    assert torch_run['test_loss'][0] == pytest.approx(2.3026, abs=1e-3)  # log 10: untrained
    for torch_loss, numpy_loss in zip(torch_run['test_loss'][2:], numpy_run['test_loss'][2:]):
        assert torch_loss == pytest.approx(numpy_loss, rel=0.25)
    assert abs(torch_run['final_test_accuracy'] - numpy_run['final_test_accuracy']) < 0.03
    assert torch_run['final_test_accuracy'] > 0.5


def test_tuning_flags_lower_the_loss_and_record_validation(tmp_path):
    metrics = train_mlp_pytorch.main([
        '--dataset', 'synthetic', '--max_steps', '60', '--eval_freq', '20', '--dnn_hidden_units', '64,32',
        '--optimizer', 'adamw', '--learning_rate', '1e-3', '--weight_decay', '0.01', '--batch_norm',
        '--dropout', '0.1', '--init', 'kaiming', '--label_smoothing', '0.1', '--augment',
        '--lr_schedule', 'cosine', '--warmup_steps', '10', '--validation_size', '500',
        '--output_dir', str(tmp_path)])
    saved = json.loads((tmp_path / 'metrics.json').read_text())
    assert saved['steps'] == [1, 20, 40, 60] and len(saved['validation_accuracy']) == 4
    assert saved['config']['device'] == 'cpu' and saved['config']['optimizer'] == 'adamw'
    assert saved['validation_loss'][-1] < saved['validation_loss'][0]
    assert metrics['final_test_accuracy'] > 0.15  # chance is 0.1


def test_epochs_replace_max_steps(tmp_path):
    metrics = train_mlp_pytorch.main(['--dataset', 'synthetic', '--epochs', '2', '--batch_size', '500',
                                      '--output_dir', str(tmp_path)])
    assert metrics['steps'][-1] == 2 * (5000 // 500) == metrics['config']['max_steps']


def test_seed_sets_the_initial_weights_and_the_batch_order_not_the_data(tmp_path):
    assert_seed_decides(*(TorchRun(train_mlp_pytorch, 'MLP', tmp_path, '--seed', seed).seed_state()
                          for seed in ('1', '1', '2')))
