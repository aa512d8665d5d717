"""A small model or checkpoint file cannot make the loaders allocate more than the file holds, and flags cannot ask
for a network beyond runkit.MAX_PARAMETERS: each is a one-line error before the memory is taken (measured
with tracemalloc where numpy would take it; PyTorch's allocator is not traced, so there the network is shown never
to be built)."""
import io
import tracemalloc
import zipfile

import numpy as np
import pytest
import torch

import evaluate
import mlp_pytorch
import runkit
import train_mlp_autodiff
import train_mlp_numpy
import train_mlp_pytorch
from command_line import run_main
from runkit import model_files, models

SMALL = 20 * 2 ** 20  # bytes: far above what refusing a file takes, far below what obeying it would


def error_and_peak(call):
    """(the one-line error call() ends the program with, the most memory Python allocated meanwhile)."""
    tracemalloc.start()
    try:
        with pytest.raises(SystemExit) as exit_info:
            call()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    message = str(exit_info.value.code)
    assert message.startswith('error: ') and '\n' not in message, message
    return message, peak


def numpy_model(folder, kind, hidden_in_config):
    """A model.npz of a 3072-4-10 MLP of `kind` whose flags claim the hidden widths hidden_in_config."""
    if kind == 'mlp_numpy':  # weights (out, in), biases (out,)
        arrays = {'weight_0': np.zeros((4, 3072), np.float32), 'bias_0': np.zeros(4, np.float32),
                  'weight_1': np.zeros((10, 4), np.float32), 'bias_1': np.zeros(10, np.float32)}
        config = {'dnn_hidden_units': hidden_in_config, 'neg_slope': 0.02, 'dataset': 'synthetic'}
    else:  # autodiff: weights (in, out), biases (1, out)
        arrays = {'weight_0': np.zeros((3072, 4)), 'bias_0': np.zeros((1, 4)),
                  'weight_1': np.zeros((4, 10)), 'bias_1': np.zeros((1, 10))}
        config = {'dnn_hidden_units': hidden_in_config, 'activation': 'relu', 'dataset': 'synthetic'}
    runkit.save_npz_model(str(folder / 'model.npz'), kind, config, arrays)


@pytest.mark.parametrize('hidden', [[30000], [10 ** 9]])
@pytest.mark.parametrize('kind', ['mlp_numpy', 'autodiff'])
def test_flags_of_a_larger_network_than_the_file_holds_are_refused_before_it_is_built(tmp_path, kind, hidden):
    numpy_model(tmp_path, kind, hidden)
    assert (tmp_path / 'model.npz').stat().st_size < 200_000
    message, peak = error_and_peak(lambda: evaluate.main([str(tmp_path)]))
    assert f'layer widths [3072, {hidden[0]}, 10] make' in message and 'the file holds 12,342' in message
    assert peak < SMALL, f'{peak:,} bytes'


@pytest.mark.parametrize('hidden', [[30000], [10 ** 9]])
def test_flags_of_a_larger_torch_mlp_than_the_file_holds_are_refused_before_it_is_built(tmp_path, monkeypatch,
                                                                                        hidden):
    model = mlp_pytorch.MLP(3072, [4], 10, 0.02)
    config = {'dnn_hidden_units': hidden, 'neg_slope': 0.02, 'batch_norm': False, 'dropout': 0.0, 'init': 'normal'}
    torch.save({'kind': 'mlp_pytorch', 'config': config, 'state_dict': model.state_dict()}, tmp_path / 'model.pt')
    built = []
    monkeypatch.setattr(mlp_pytorch, 'MLP', lambda *args, **kwargs: built.append(args))
    with pytest.raises(model_files.ModelFileError, match=rf'layer widths \[3072, {hidden[0]}, 10\] make'):
        models.load(tmp_path / 'model.pt', 'mlp_pytorch')
    assert built == []


def test_an_array_header_that_declares_more_than_its_entry_holds_is_refused_unread(tmp_path):
    numpy_model(tmp_path, 'mlp_numpy', [4])
    with zipfile.ZipFile(tmp_path / 'model.npz') as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {'descr': '<f4', 'fortran_order': False, 'shape': (4, 3072 * 10 ** 5)})
    entries['weight_0.npy'] = header.getvalue() + bytes(64)  # 4.9 GB declared, 64 bytes held
    with zipfile.ZipFile(tmp_path / 'model.npz', 'w') as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    message, peak = error_and_peak(lambda: evaluate.main([str(tmp_path)]))
    assert 'weight_0.npy declares an array of (4, 307200000) float32, but holds' in message
    assert peak < SMALL, f'{peak:,} bytes'


def test_an_array_under_any_name_is_checked_against_its_header(tmp_path):
    numpy_model(tmp_path, 'mlp_numpy', [4])
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {'descr': '<f8', 'fortran_order': False, 'shape': (10 ** 9,)})
    with zipfile.ZipFile(tmp_path / 'model.npz', 'a') as archive:
        archive.writestr('W', header.getvalue() + bytes(16))  # np.load reads it as an array of 8 GB
    message, peak = error_and_peak(lambda: evaluate.main([str(tmp_path)]))
    assert 'W declares an array of (1000000000,) float64, but holds' in message
    assert peak < SMALL, f'{peak:,} bytes'


def recompressed(path):
    """Rewrite the zip archive at path with every entry deflated."""
    with zipfile.ZipFile(path) as archive:
        entries = [(info.filename, archive.read(info)) for info in archive.infolist()]
    with zipfile.ZipFile(path, 'w', compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries:
            archive.writestr(name, content)


def test_a_compressed_model_npz_is_refused_unread(tmp_path):
    numpy_model(tmp_path, 'mlp_numpy', [4])
    recompressed(tmp_path / 'model.npz')
    message, peak = error_and_peak(lambda: evaluate.main([str(tmp_path)]))
    assert 'kind.npy is compressed, where np.savez and torch.save store their entries' in message
    assert peak < SMALL, f'{peak:,} bytes'


def test_a_compressed_model_pt_or_checkpoint_is_refused_before_torch_reads_it(tmp_path, monkeypatch, capsys):
    folder = tmp_path / 'run'
    train_mlp_pytorch.main(['--dataset', 'fake_cifar10', '--max_steps', '2', '--eval_freq', '1', '--batch_size', '50',
                            '--output_dir', str(folder)])
    for name in ('model.pt', 'checkpoint.pt'):
        recompressed(folder / name)
    loads = []
    load = torch.load
    monkeypatch.setattr(torch, 'load', lambda *args, **kwargs: loads.append(args) or load(*args, **kwargs))
    with pytest.raises(model_files.ModelFileError, match='is compressed, where np.savez and torch.save store'):
        models.load(folder / 'model.pt', 'mlp_pytorch')
    (folder / 'metrics.json').unlink()  # an interrupted run's folder, as --resume expects
    status, stderr = run_main(train_mlp_pytorch.main, ['--dataset', 'fake_cifar10', '--max_steps', '4', '--eval_freq',
                                                       '1', '--batch_size', '50', '--resume', str(folder)], capsys)
    assert status == 1 and stderr.startswith('error: --resume: cannot load') and 'is compressed' in stderr
    assert loads == []


@pytest.mark.parametrize('script, flags', [
    (train_mlp_numpy, ['--dataset', 'fake_cifar10']),
    (train_mlp_pytorch, ['--dataset', 'fake_cifar10']),
    (train_mlp_autodiff, []),
], ids=['numpy', 'pytorch', 'autodiff'])
def test_hidden_widths_beyond_the_bound_are_a_one_line_error_before_training(tmp_path, script, flags, capsys):
    status, stderr = run_main(script.main, flags + ['--dnn_hidden_units', '1000000000', '--max_steps', '1',
                                                    '--output_dir', str(tmp_path)], capsys)
    assert status == 1 and len(stderr.splitlines()) == 1, stderr
    assert 'error: --dnn_hidden_units 1000000000 makes' in stderr
    assert f'expected at most {runkit.MAX_PARAMETERS:,}' in stderr
    assert not (tmp_path / 'metrics.json').exists()


def test_the_bound_admits_every_network_the_package_trains():
    from convnet_pytorch import ConvNet
    convnet = sum(parameter.numel() for parameter in ConvNet(3, 10).parameters())
    assert 10 * convnet <= runkit.MAX_PARAMETERS
    assert runkit.dense_parameters([3072, 100, 10]) == 3072 * 100 + 100 + 100 * 10 + 10
