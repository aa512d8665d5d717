"""The autodiff training script end to end: VU's synth data, a tiny MNIST folder, saved weights, bad flags."""
import json

import numpy as np
import pytest

import autodiff
import train_mlp_autodiff
import vu_data
from command_line import run_main
from runkit import models
from test_cifar10_utils import write_tiny_mnist


def test_one_epoch_on_synth_learns_the_boundary_and_writes_everything(tmp_path):
    metrics = train_mlp_autodiff.main(['--activation', 'relu', '--epochs', '1', '--output_dir', str(tmp_path)])
    saved = json.loads((tmp_path / 'metrics.json').read_text())
    assert saved == json.loads(json.dumps(metrics))
    assert saved['steps'] == [1, 468]  # 60,000 points in batches of 128, evaluated once per epoch
    assert saved['validation_accuracy'][-1] > 0.95 and saved['final_test_accuracy'] > 0.95  # majority class: 0.55
    assert saved['config']['dnn_hidden_units'] == [8] and saved['config']['validation_size'] == 10_000
    for name in ('curves.png', 'decision_boundary.png'):
        assert (tmp_path / name).read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'

    model, _ = models.load(tmp_path / 'model.npz', 'autodiff')
    validation = vu_data.get_synth(one_hot=False)['validation']
    _, accuracy = train_mlp_autodiff.evaluate(model, validation)
    assert accuracy == saved['validation_accuracy'][-1]  # the saved weights are the last step's


@pytest.mark.usefixtures('figures_unrendered')
def test_sigmoid_learns_too_with_a_larger_step(tmp_path):
    metrics = train_mlp_autodiff.main(['--learning_rate', '1', '--epochs', '1', '--output_dir', str(tmp_path)])
    assert metrics['config']['activation'] == 'sigmoid' and metrics['final_test_accuracy'] > 0.9


@pytest.mark.usefixtures('figures_unrendered')
def test_the_seed_moves_weights_and_batches_but_not_the_data(tmp_path):
    flags = ['--max_steps', '30', '--eval_freq', '10', '--activation', 'relu']
    runs = [train_mlp_autodiff.main(flags + ['--seed', seed, '--output_dir', str(tmp_path / name)])
            for seed, name in (('1', 'a'), ('1', 'b'), ('2', 'c'))]
    assert runs[0]['train_loss'] == runs[1]['train_loss'] and runs[0]['test_loss'] == runs[1]['test_loss']
    assert runs[0]['train_loss'] != runs[2]['train_loss']
    first, other = (models.load(tmp_path / name / 'model.npz', 'autodiff')[0] for name in 'ac')
    assert not np.array_equal(first.parameters()[0].value, other.parameters()[0].value)


@pytest.mark.usefixtures('figures_unrendered')
def test_a_tiny_mnist_folder_trains(tmp_path):
    write_tiny_mnist(str(tmp_path / 'mnist'), num_train=40, num_test=20)
    metrics = train_mlp_autodiff.main(['--dataset', 'mnist', '--data_dir', str(tmp_path / 'mnist'), '--max_steps', '6',
                                       '--batch_size', '10', '--validation_size', '10', '--dnn_hidden_units', '16',
                                       '--output_dir', str(tmp_path / 'run')])
    assert metrics['status'] == 'completed' and metrics['steps'] == [1, 3, 6]  # 30 images make 3 batches an epoch
    model, _ = models.load(tmp_path / 'run' / 'model.npz', 'autodiff')
    assert [p.shape for p in model.parameters()] == [(784, 16), (1, 16), (16, 10), (1, 10)]
    assert not (tmp_path / 'run' / 'decision_boundary.png').exists()


@pytest.mark.parametrize('flags,message', [
    (['--activation', 'tanh'], "invalid choice: 'tanh'"),
    (['--dataset', 'fake_cifar10'], "invalid choice: 'fake_cifar10'"),
    (['--dataset', 'synthetic'], "invalid choice: 'synthetic'"),
    (['--dnn_hidden_units', '8,x'], 'comma-separated positive integers'),
    (['--learning_rate', '-1'], 'expected a positive number'),
    (['--batch_size', '0'], 'expected a positive integer'),
    (['--preprocess', 'mean_image'], 'synth takes no preprocessing'),
])
def test_bad_flags_give_one_line_errors(flags, message, tmp_path, capsys):
    status, stderr = run_main(train_mlp_autodiff.main, flags + ['--output_dir', str(tmp_path)], capsys)
    assert status != 0
    assert message in stderr
    assert len(stderr.strip().splitlines()) == 1, stderr


def test_missing_mnist_offline_gives_one_line_error(tmp_path, monkeypatch):
    import torchvision.datasets.utils

    def offline(*args, **kwargs):
        raise OSError('network unreachable')

    monkeypatch.setattr(torchvision.datasets.utils, 'download_and_extract_archive', offline)
    folder = str(tmp_path / 'mnist')
    with pytest.raises(SystemExit) as exit:
        train_mlp_autodiff.main(['--dataset', 'mnist', '--data_dir', folder, '--output_dir', str(tmp_path / 'run')])
    message = str(exit.value.code)
    assert f'MNIST is not in {folder}' in message and '--dataset synth' in message and '\n' not in message


def test_a_sigmoid_network_with_zero_hidden_biases_is_odd_plus_a_constant():
    """The report's explanation of question 9: sigmoid(a) - 1/2 is odd, so with the hidden biases at 0 (where they
    start) the logits at x and -x sum to a constant, although synth gives x and -x the same class."""
    model = autodiff.MLP(2, [8], 2, seed=0, dtype=np.float64)
    model.layers[1].bias.value[:] = [[0.3, -0.2]]
    x = np.random.default_rng(0).standard_normal((50, 2))
    total = models.log_probabilities(model, x) + models.log_probabilities(model, -x)
    logit_sums = total[:, 1] - total[:, 0]  # log-softmax differences are logit differences
    np.testing.assert_allclose(logit_sums, logit_sums[0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(logit_sums[0], 2 * (-0.2 - 0.3) + (model.layers[1].weight.value @ [-1, 1]).sum(),
                               rtol=1e-12)


def test_the_sigmoid_network_leaves_the_majority_class_only_through_its_hidden_biases():
    data = vu_data.get_synth(one_hot=False, seed=42)
    majority = 1 - data['validation'].labels.mean()
    accuracies = {}
    for hold_biases_at_zero in (True, False):
        model = autodiff.MLP(2, [8], 2, seed=42)
        for _ in range(6 * 468):  # six epochs at learning rate 0.1
            x, labels = data['train'].next_batch(128)
            loss = autodiff.logceloss(model(autodiff.TensorNode(x, requires_grad=False)), labels)
            loss.backward()
            for parameter in model.parameters():
                parameter.value -= 0.1 * parameter.grad
            if hold_biases_at_zero:
                model.layers[0].bias.value[:] = 0
            loss.zero_grad()
            loss.clear()
        accuracies[hold_biases_at_zero] = train_mlp_autodiff.evaluate(model, data['validation'])[1]
    assert accuracies[True] == pytest.approx(majority)
    assert accuracies[False] > 0.9


@pytest.mark.usefixtures('figures_unrendered')
def test_synth_without_a_validation_split_draws_the_test_points(tmp_path):
    metrics = train_mlp_autodiff.main(['--validation_size', '0', '--max_steps', '20', '--output_dir', str(tmp_path)])
    assert 'validation_accuracy' not in metrics and (tmp_path / 'decision_boundary.png').exists()
