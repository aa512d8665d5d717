"""Inputs that once ended in a traceback (or took all the memory) end in one line that says what was expected."""

import pytest

import evaluate
import make_report
import train_mlp_autodiff
import train_mlp_numpy
import train_mlp_pytorch
from command_line import run_main
from test_cifar10_utils import write_tiny_mnist

TINY = ['--dataset', 'synthetic', '--max_steps', '2', '--eval_freq', '1', '--batch_size', '50']


def one_line(status, stderr, expected_status=1):
    assert status == expected_status and len(stderr.splitlines()) == 1, stderr
    return stderr


def test_a_synth_validation_split_larger_than_its_training_set(tmp_path, capsys):
    stderr = one_line(*run_main(train_mlp_autodiff.main, ['--validation_size', '1000000000',
                                                          '--output_dir', str(tmp_path)], capsys))
    assert stderr == 'error: --validation_size 1000000000 is more points than synth draws for training (60,000); ' \
                     'expected at most that many\n'


def test_an_mnist_folder_without_test_images(tmp_path, capsys):
    write_tiny_mnist(str(tmp_path / 'mnist'), num_train=30, num_test=0)
    stderr = one_line(*run_main(train_mlp_autodiff.main, [
        '--dataset', 'mnist', '--data_dir', str(tmp_path / 'mnist'), '--max_steps', '2', '--batch_size', '10',
        '--validation_size', '10', '--output_dir', str(tmp_path / 'run')], capsys))
    assert stderr == f'error: the test split of mnist in {tmp_path / "mnist"} holds no examples\n'


@pytest.mark.parametrize('script', [train_mlp_numpy, train_mlp_pytorch], ids=['numpy', 'pytorch'])
@pytest.mark.parametrize('value', ['-1', str(2 ** 70)])
def test_a_seed_neither_numpy_nor_torch_takes(tmp_path, capsys, script, value):
    stderr = one_line(*run_main(script.main, TINY + ['--seed', value, '--output_dir', str(tmp_path)], capsys), 2)
    assert stderr.endswith(f"error: argument --seed: expected an integer in [0, 2**63), got '{value}'\n")


@pytest.mark.usefixtures('figures_unrendered')
@pytest.mark.parametrize('content', ['{"final_test_accuracy": 0.', '[1, 2]'], ids=['truncated', 'not-a-dict'])
def test_a_damaged_metrics_json_is_refused_before_evaluating(tmp_path, monkeypatch, capsys, content):
    train_mlp_numpy.main(TINY + ['--output_dir', str(tmp_path)])
    (tmp_path / 'metrics.json').write_text(content)
    monkeypatch.setattr(evaluate, 'predict', lambda *args: pytest.fail('predicted before reading metrics.json'))
    stderr = one_line(*run_main(evaluate.main, [str(tmp_path)], capsys))
    assert stderr.startswith(f'error: {tmp_path / "metrics.json"} is not the metrics.json of a run (')
    assert (tmp_path / 'metrics.json').read_text() == content  # left as it was


def test_make_report_without_its_report(tmp_path, capsys):
    stderr = one_line(*run_main(make_report.main, ['--report', str(tmp_path / 'missing.md')], capsys))
    assert stderr == f'error: --report {tmp_path / "missing.md"} does not exist; expected the report whose marked ' \
                     'blocks to fill\n'


def test_the_batch_norm_benchmark_on_cuda_without_a_gpu(monkeypatch, capsys):
    import torch

    import bench_batchnorm
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    stderr = one_line(*run_main(bench_batchnorm.main, ['--device', 'cuda'], capsys), 2)
    assert stderr.endswith('error: --device cuda was asked for, but PyTorch sees no GPU here\n')
