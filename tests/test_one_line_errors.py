"""Inputs that once ended in a traceback (or took all the memory) end in one line that says what was expected."""
import json
import os

import pytest

import cifar10_utils
import evaluate
import make_report
import runkit
import train_convnet_pytorch
import train_mlp_autodiff
import train_mlp_numpy
import train_mlp_pytorch
import vu_data
from command_line import run_main
from runkit import datasets, models
from test_cifar10_utils import write_tiny_mnist

TINY = ['--dataset', 'fake_cifar10', '--max_steps', '2', '--eval_freq', '1', '--batch_size', '50']


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
    monkeypatch.setattr(models, 'predict', lambda *args: pytest.fail('predicted before reading metrics.json'))
    stderr = one_line(*run_main(evaluate.main, [str(tmp_path)], capsys))
    assert stderr.startswith(f'error: {tmp_path / "metrics.json"} is not the metrics.json of a run (')
    assert (tmp_path / 'metrics.json').read_text() == content  # left as it was


def test_make_report_without_its_report(tmp_path, capsys):
    stderr = one_line(*run_main(make_report.main, ['--report', str(tmp_path / 'missing.md')], capsys))
    assert stderr == f'error: --report {tmp_path / "missing.md"} does not exist; expected a report whose marked ' \
                     'blocks to fill\n'


def test_the_batch_norm_benchmark_on_cuda_without_a_gpu(monkeypatch, capsys):
    import torch

    import bench_batchnorm
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    stderr = one_line(*run_main(bench_batchnorm.main, ['--device', 'cuda'], capsys), 2)
    assert stderr.endswith('error: --device cuda was asked for, but PyTorch sees no GPU here\n')


@pytest.mark.parametrize('script, flags', [(train_convnet_pytorch, TINY), (evaluate, ['some_run'])],
                         ids=['train', 'evaluate'])
def test_a_view_shift_of_half_the_image_or_more(capsys, script, flags):
    stderr = one_line(*run_main(script.main, flags + ['--tta_shift', '16'], capsys), 2)
    assert stderr.endswith("argument --tta_shift: expected 0 to 15 pixels (half the image or more leaves a blank "
                           "view), got '16'\n")


def test_more_threads_than_cpus(capsys):
    too_many = str(os.cpu_count() + 1)
    stderr = one_line(*run_main(train_convnet_pytorch.main, TINY + ['--threads', too_many], capsys), 2)
    assert stderr.endswith(f"argument --threads: expected at most {os.cpu_count()}, the CPUs here, "
                           f"got '{os.cpu_count() + 1}'\n")


def test_mnist_images_of_another_size(tmp_path, capsys):
    write_tiny_mnist(str(tmp_path / 'mnist'))
    images = tmp_path / 'mnist' / vu_data.MNIST_FILES['train'][0]
    header = (0x803).to_bytes(4, 'big') + b''.join(size.to_bytes(4, 'big') for size in (30, 14, 56))
    images.write_bytes(header + bytes(30 * 14 * 56))  # as many bytes as 28x28, in another shape
    stderr = one_line(*run_main(train_mlp_autodiff.main, ['--dataset', 'mnist', '--data_dir', str(tmp_path / 'mnist'),
                                                          '--output_dir', str(tmp_path / 'run')], capsys))
    assert stderr == f'error: corrupt MNIST file {images}: images of 14x56 pixels, expected 28x28\n'


def test_a_diverged_loss_is_written_as_null_not_as_nan(tmp_path):
    runkit.write_json(tmp_path / 'metrics.json', {'loss': [1.0, float('nan'), float('inf')], 'nested': {
        'x': -float('inf')}})
    text = (tmp_path / 'metrics.json').read_text()
    assert 'NaN' not in text and 'Infinity' not in text
    assert json.loads(text) == {'loss': [1.0, None, None], 'nested': {'x': None}}


def test_a_data_dir_that_is_a_file(tmp_path, capsys):
    (tmp_path / 'cifar-10-batches-py').write_text('not a folder')
    stderr = one_line(*run_main(train_mlp_numpy.main, ['--data_dir', str(tmp_path / 'cifar-10-batches-py'),
                                                       '--output_dir', str(tmp_path / 'run')], capsys))
    assert stderr.startswith(f'error: {tmp_path / "cifar-10-batches-py"} is a file; expected the CIFAR-10 folder')


@pytest.mark.parametrize('dataset', ['cifar10', 'mnist'])
def test_a_failed_download_leaves_no_empty_folder(tmp_path, monkeypatch, dataset):
    import torchvision.datasets.utils

    def offline(url, download_root, *args, **kwargs):  # as torchvision's does: the folder first, then the request
        os.makedirs(download_root, exist_ok=True)
        raise OSError('network unreachable')

    monkeypatch.setattr(torchvision.datasets.utils, 'download_and_extract_archive', offline)
    folder = tmp_path / 'data' / 'cifar10' / 'cifar-10-batches-py' if dataset == 'cifar10' else tmp_path / 'data' / 'm'
    with pytest.raises(cifar10_utils.DataError, match='failed'):
        datasets.load_dataset(dataset, str(folder))
    assert os.listdir(tmp_path) == []


@pytest.mark.usefixtures('figures_unrendered')
def test_a_folder_with_the_models_of_two_runs(tmp_path, capsys):
    train_mlp_numpy.main(TINY + ['--output_dir', str(tmp_path)])
    (tmp_path / 'model.pt').write_bytes(b'another run')
    stderr = one_line(*run_main(evaluate.main, [str(tmp_path)], capsys))
    assert stderr == f'error: {tmp_path} holds both model.npz and model.pt, the models of two runs; expected one, ' \
                     'beside the metrics.json of its run\n'


@pytest.mark.usefixtures('figures_unrendered')
def test_an_analysis_on_other_data_is_replaced_only_with_overwrite(tmp_path, capsys):
    from test_cifar10_utils import write_tiny_cifar10
    first, second = tmp_path / 'a' / 'cifar-10-batches-py', tmp_path / 'b' / 'cifar-10-batches-py'
    write_tiny_cifar10(str(first), seed=0)
    write_tiny_cifar10(str(second), seed=0)  # the same images in another folder: the fingerprint agrees
    run = tmp_path / 'run'
    train_mlp_numpy.main(['--data_dir', str(first), '--max_steps', '2', '--batch_size', '5', '--output_dir', str(run)])
    assert evaluate.main([str(run)])['data']['data_dir'] == str(first)
    assert evaluate.main([str(run)])['data']['data_dir'] == str(first)  # the same analysis again: no flag needed
    kept = (run / 'analysis.json').read_text()
    stderr = one_line(*run_main(evaluate.main, [str(run), '--data_dir', str(second)], capsys))
    assert stderr == f'error: {run / "analysis.json"} analyses cifar10 in {first}, not cifar10 in {second}; pass ' \
                     '--overwrite to replace it\n'
    assert (run / 'analysis.json').read_text() == kept
    assert evaluate.main([str(run), '--data_dir', str(second), '--overwrite'])['data']['data_dir'] == str(second)


@pytest.mark.usefixtures('figures_unrendered')
def test_a_run_and_analysis_recorded_under_the_old_name_of_the_stand_in_are_evaluated_again(tmp_path):
    run = tmp_path / 'run'
    train_mlp_numpy.main(TINY + ['--output_dir', str(run)])
    evaluate.main([str(run)])
    for name in ('metrics.json', 'analysis.json'):  # as a run under the stand-in's other name recorded them
        text = (run / name).read_text().replace('fake_cifar10', 'synthetic')
        (run / name).write_text(text)
    assert evaluate.main([str(run)])['data']['dataset'] == 'fake_cifar10'  # no --overwrite asked for


@pytest.mark.parametrize('recorded, accepted', [('generated (synthetic, data_seed 0)', True),
                                                ('generated (fake_cifar10, data_seed 0)', True),
                                                ('generated (fake_cifar10, data_seed 7)', False)])
def test_a_generated_sets_recorded_fingerprint_must_match_under_either_name(recorded, accepted):
    config = {'dataset': 'synthetic', 'data_fingerprint': recorded, 'preprocess': 'mean_image'}
    if accepted:
        assert models.run_split(config)[1]['fingerprint'] == 'generated (fake_cifar10, data_seed 0)'
    else:
        with pytest.raises(cifar10_utils.DataError, match='is not the data the run was trained on'):
            models.run_split(config)
