"""The ConvNet training script end to end on a small synthetic data set, and its flags."""
import functools
import json

import pytest
import torch

import cifar10_utils
import train_convnet_pytorch
from prepared_run import TorchRun, assert_same_run, assert_seed_decides, interrupted_and_resumed, seed_state
from runkit import torch_data

# 8 steps make an epoch; 2 steps, each followed by a test evaluation.
RUN = ['--dataset', 'fake_cifar10', '--batch_size', '4', '--max_steps', '2', '--eval_freq', '1', '--threads', '1']


@pytest.fixture(autouse=True)
def small_synthetic_data(monkeypatch):
    """The full-size ConvNet on a data set small enough to train and evaluate in a second or two."""
    monkeypatch.setattr(cifar10_utils, 'get_synthetic',
                        functools.partial(cifar10_utils.get_synthetic, num_train=32, num_test=16))


@pytest.fixture(autouse=True)
def restore_threads():
    """--threads sets PyTorch's global thread count; give the other tests theirs back."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def run(tmp_path, *flags):
    metrics = train_convnet_pytorch.main(RUN + ['--output_dir', str(tmp_path), *flags])
    assert (tmp_path / 'curves.png').stat().st_size > 0
    assert json.loads((tmp_path / 'metrics.json').read_text())['steps'] == metrics['steps']
    return metrics


def test_default_run_writes_metrics_and_the_same_seed_repeats_them(tmp_path):
    first = run(tmp_path / 'first')
    assert first['status'] == 'completed' and first['steps'] == [1, 2]
    for key in ('train_loss', 'train_accuracy', 'test_loss', 'test_accuracy'):
        assert len(first[key]) == 2
    assert first['test_loss'][0] == pytest.approx(2.3026, abs=0.1)  # log 10: next to untrained
    config = first['config']
    assert config['device'] == 'cpu' and config['channels_last'] and config['optimizer'] == 'adam'
    assert config['timing']['train_steps'] == 2 and config['timing']['train_images_per_second'] > 0

    # A quarter of an epoch of 32 // 4 = 8 steps is the same 2 steps.
    again = train_convnet_pytorch.main(['--dataset', 'fake_cifar10', '--batch_size', '4', '--epochs', '0.25',
                                        '--eval_freq', '1', '--threads', '1',
                                        '--output_dir', str(tmp_path / 'again')])
    assert again['config']['max_steps'] == 2
    for key in ('train_loss', 'train_accuracy', 'test_loss', 'test_accuracy'):
        assert again[key] == first[key]


@pytest.mark.usefixtures('figures_unrendered')
def test_seed_sets_the_initial_weights_and_the_batch_order_not_the_data(tmp_path):
    assert_seed_decides(*(seed_state(TorchRun(train_convnet_pytorch, '--seed', seed)) for seed in ('1', '1', '2')))


def test_plain_float32_nchw_path_computes_the_same_first_step(tmp_path):
    fast = run(tmp_path / 'fast', '--max_steps', '1', '--no-amp')
    plain = run(tmp_path / 'plain', '--max_steps', '1', '--no-amp', '--no-channels_last')
    assert plain['config']['channels_last'] is False and plain['config']['amp'] is False
    # Same weights and batch, other memory layout: only the summation order differs.
    assert plain['train_loss'][0] == pytest.approx(fast['train_loss'][0], rel=1e-5)
    assert plain['test_loss'][0] == pytest.approx(fast['test_loss'][0], rel=1e-4)


def test_bfloat16_custom_batch_norm_and_the_tuning_flags_run(tmp_path):
    metrics = run(tmp_path, '--max_steps', '1', '--amp', '--batch_norm', 'custom', '--optimizer', 'sgd',
                  '--learning_rate', '0.01', '--weight_decay', '5e-4', '--augment', '--label_smoothing', '0.1',
                  '--lr_schedule', 'onecycle', '--validation_size', '8')
    assert metrics['config']['amp'] is True and metrics['config']['batch_norm'] == 'custom'
    assert metrics['steps'] == [1] and len(metrics['validation_loss']) == 1
    assert all(0 < loss < 5 for loss in metrics['train_loss'] + metrics['test_loss'])


def test_divergence_ends_in_one_line_and_is_recorded(tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        train_convnet_pytorch.main(RUN + ['--learning_rate', '1e20', '--output_dir', str(tmp_path)])
    message = str(exit_info.value.code)
    assert message.startswith('error: the training loss became nan at step 2') and '\n' not in message
    assert json.loads((tmp_path / 'metrics.json').read_text())['status'] == 'diverged'


@pytest.mark.parametrize('flags', [
    ['--optimizer', 'rmsprop'], ['--batch_norm', 'mine'], ['--label_smoothing', '1'],
    ['--learning_rate', '0'], ['--amp=yes'], ['--device', 'tpu'], ['--lr_schedule', 'linear'],
    ['--threads', '0'], ['--epochs', '-1'],
])
def test_bad_flags_give_one_line_errors(flags, capsys):
    with pytest.raises(SystemExit) as exit_info:
        train_convnet_pytorch.main(RUN + flags)
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert ': error: ' in error and error.count('\n') == 1


@pytest.mark.parametrize('avx512_bf16,amx,fast', [(False, False, False), (True, False, True), (False, True, True)])
def test_bfloat16_counts_as_fast_on_cpus_that_compute_it_natively(monkeypatch, avx512_bf16, amx, fast):
    monkeypatch.setattr(torch.cpu, '_is_avx512_bf16_supported', lambda: avx512_bf16)
    monkeypatch.setattr(torch.cpu, '_is_amx_tile_supported', lambda: amx)
    assert torch_data.bf16_is_fast(torch.device('cpu')) is fast


@pytest.mark.parametrize('native,fast', [(True, True), (False, False)])
def test_bfloat16_counts_as_fast_on_gpus_that_compute_it_natively(monkeypatch, native, fast):
    # A T4 or V100 reports bf16 support only when emulation counts.
    monkeypatch.setattr(torch.cuda, 'is_bf16_supported', lambda including_emulation=True: native or including_emulation)
    assert torch_data.bf16_is_fast(torch.device('cuda')) is fast


@pytest.mark.parametrize('native', [False, True])
def test_amp_is_on_by_default_where_bfloat16_is_fast(tmp_path, monkeypatch, native):
    monkeypatch.setattr(torch.cpu, '_is_avx512_bf16_supported', lambda: native)
    monkeypatch.setattr(torch.cpu, '_is_amx_tile_supported', lambda: False)
    assert TorchRun(train_convnet_pytorch).config['amp'] is native


@pytest.mark.usefixtures('figures_unrendered')
def test_a_run_stopped_by_sigterm_resumes_exactly(tmp_path):
    flags = ['--max_steps', '6', '--eval_freq', '2', '--batch_size', '4', '--augment', '--optimizer', 'sgd',
             '--lr_schedule', 'onecycle', '--warmup_steps', '2', '--threads', '1']
    full, resumed, message = interrupted_and_resumed(train_convnet_pytorch, tmp_path, flags, stop_after=3,
                                                     num_test=8)
    assert message.endswith(f'to continue, run the same command with --resume {tmp_path / "part"}')
    assert_same_run(full, resumed)
    assert resumed['resumed_after_steps'] == [3]
