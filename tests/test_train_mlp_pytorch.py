"""The PyTorch MLP training script end to end on synthetic data, its agreement with the NumPy script, and its
checkpoints: resumed after SIGTERM or a kill, it gives the run it would have given."""
import json
import os
import shutil
import signal

import pytest
import torch

import train_mlp_numpy
import train_mlp_pytorch
from prepared_run import (
    TorchRun,
    assert_same_run,
    assert_seed_decides,
    interrupted_and_resumed,
    seed_state,
    send_sigterm_after,
    signal_during,
    tiny_stand_in,
)
from runkit import model_files

pytestmark = pytest.mark.usefixtures('figures_unrendered')  # no test here looks at a figure

SYNTHETIC = ['--dataset', 'fake_cifar10', '--max_steps', '300', '--eval_freq', '100']


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
        '--dataset', 'fake_cifar10', '--max_steps', '60', '--eval_freq', '20', '--dnn_hidden_units', '64,32',
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
    metrics = train_mlp_pytorch.main(['--dataset', 'fake_cifar10', '--epochs', '2', '--batch_size', '500',
                                      '--output_dir', str(tmp_path)])
    assert metrics['steps'][-1] == 2 * (5000 // 500) == metrics['config']['max_steps']


def test_seed_sets_the_initial_weights_and_the_batch_order_not_the_data(tmp_path):
    assert_seed_decides(*(seed_state(TorchRun(train_mlp_pytorch, '--seed', seed)) for seed in ('1', '1', '2')))


RESUMABLE = ['--max_steps', '12', '--eval_freq', '4', '--batch_size', '16', '--dropout', '0.2', '--augment',
             '--optimizer', 'adam', '--lr_schedule', 'cosine', '--learning_rate', '0.01']


def test_a_run_stopped_by_sigterm_resumes_exactly(tmp_path):
    """Dropout, crops and flips, Adam and a cosine schedule all draw on state that the checkpoint must carry; the
    stop falls on the end of an epoch (64 images in batches of 16), where the next batch draws a new order."""
    full, resumed, message = interrupted_and_resumed(train_mlp_pytorch, tmp_path, RESUMABLE, stop_after=8)
    assert message == (f'interrupted; what was recorded is in {tmp_path / "part"}; to continue, run the same command '
                       f'with --resume {tmp_path / "part"}')
    assert_same_run(full, resumed)
    assert resumed['resumed_after_steps'] == [8] and full['steps'] == [1, 4, 8, 12]
    assert (tmp_path / 'part' / 'model.pt').exists() and (tmp_path / 'part' / 'checkpoint.pt').exists()


def test_a_killed_run_resumes_from_its_last_evaluation(tmp_path, monkeypatch):
    """A run killed outright (SIGKILL, a reboot) leaves the checkpoint of its last evaluation and no metrics.json."""
    save = model_files.Checkpoint.save

    def save_and_keep(self, folder, metrics, step):
        save(self, folder, metrics, step)
        if step == 4:
            shutil.copyfile(os.path.join(folder, 'checkpoint.pt'), os.path.join(folder, 'at_step_4.pt'))

    monkeypatch.setattr(model_files.Checkpoint, 'save', save_and_keep)
    full, _, _ = interrupted_and_resumed(train_mlp_pytorch, tmp_path, RESUMABLE, stop_after=6)
    part = tmp_path / 'part'
    os.replace(part / 'at_step_4.pt', part / 'checkpoint.pt')
    (part / 'metrics.json').unlink()
    with tiny_stand_in():
        resumed = train_mlp_pytorch.main(['--dataset', 'fake_cifar10', *RESUMABLE, '--resume', str(part)])
    assert_same_run(full, resumed)
    assert resumed['resumed_after_steps'] == [4]


def test_a_completed_run_is_not_resumed(tmp_path):
    flags = ['--dataset', 'fake_cifar10', '--max_steps', '2', '--eval_freq', '2', '--output_dir', str(tmp_path)]
    train_mlp_pytorch.main(flags)
    with pytest.raises(SystemExit) as error:
        train_mlp_pytorch.main(flags + ['--resume', str(tmp_path)])
    assert str(error.value.code) == f'error: --resume: the run in {tmp_path} has completed; there is nothing to resume'
    with pytest.raises(SystemExit, match='holds no checkpoint.pt to continue from'):
        train_mlp_pytorch.main(flags[:-2] + ['--resume', str(tmp_path / 'nowhere')])
    assert not (tmp_path / 'nowhere').exists()


def test_a_step_cut_short_leaves_no_checkpoint_and_promises_no_resume(tmp_path, monkeypatch):
    """A second Ctrl-C stops in the middle of a step: nothing consistent to save, so no --resume is offered."""
    # in the middle of step 1, the first asks to stop after the step, the second stops at once
    signal_during(monkeypatch, -1, signal.SIGINT, signal.SIGINT)
    with pytest.raises(SystemExit) as error:
        train_mlp_pytorch.main(['--dataset', 'fake_cifar10', '--max_steps', '4', '--output_dir', str(tmp_path)])
    assert str(error.value.code) == f'interrupted; what was recorded is in {tmp_path}'
    assert not (tmp_path / 'checkpoint.pt').exists()
    assert json.loads((tmp_path / 'metrics.json').read_text())['interrupted_after_step'] == 0


def test_resuming_with_other_flags_names_the_flag(tmp_path, monkeypatch):
    flags = ['--dataset', 'fake_cifar10', '--max_steps', '4', '--eval_freq', '2', '--output_dir', str(tmp_path)]
    with monkeypatch.context() as stopping, pytest.raises(SystemExit):
        send_sigterm_after(stopping, stop_after=2)
        train_mlp_pytorch.main(flags)
    with pytest.raises(SystemExit) as error:
        train_mlp_pytorch.main(flags + ['--resume', str(tmp_path), '--dnn_hidden_units', '50'])
    assert str(error.value.code) == (f'error: --resume: the run in {tmp_path} was trained with --dnn_hidden_units '
                                     f'[100], not [50]; resume it with its own flags')


def edited_checkpoint(folder, patch, edit):
    """A run of 4 steps into folder stopped after step 2, its checkpoint's state changed by edit(state); returns its
    flags."""
    flags = ['--dataset', 'fake_cifar10', '--max_steps', '4', '--eval_freq', '2', '--output_dir', str(folder)]
    with patch.context() as stopping, pytest.raises(SystemExit):
        send_sigterm_after(stopping, stop_after=2)
        train_mlp_pytorch.main(flags)
    state = torch.load(folder / 'checkpoint.pt', weights_only=True)
    edit(state)
    torch.save(state, folder / 'checkpoint.pt')
    return flags


def test_a_checkpoint_that_predates_a_flag_resumes_only_with_the_flag_off(tmp_path, monkeypatch):
    # as if --batch_norm had been added after the checkpoint was written
    flags = edited_checkpoint(tmp_path, monkeypatch, lambda state: state['config'].pop('batch_norm'))
    with pytest.raises(SystemExit) as error:
        train_mlp_pytorch.main(flags + ['--resume', str(tmp_path), '--batch_norm'])
    assert str(error.value.code) == (f'error: --resume: the run in {tmp_path} was trained with --batch_norm None, '
                                     f'not torch; resume it with its own flags')
    train_mlp_pytorch.main(flags + ['--resume', str(tmp_path)])
    assert json.loads((tmp_path / 'metrics.json').read_text())['steps'][-1] == 4


def test_a_checkpoint_with_the_old_spellings_of_batch_norm_and_the_dataset_resumes(tmp_path, monkeypatch):
    def as_spelt_before(state):
        assert (state['config']['batch_norm'], state['config']['dataset']) == ('none', 'fake_cifar10')
        state['config'].update(batch_norm=False, dataset='synthetic',
                               data_fingerprint='generated (synthetic, data_seed 0)')

    edited_checkpoint(tmp_path, monkeypatch, as_spelt_before)
    resumed = train_mlp_pytorch.main(['--dataset', 'synthetic', '--max_steps', '4', '--eval_freq', '2',
                                      '--resume', str(tmp_path)])
    assert resumed['steps'][-1] == 4


def test_a_checkpoint_from_before_activation_resumes_as_the_leaky_relu_it_trained(tmp_path, monkeypatch):
    flags = edited_checkpoint(tmp_path, monkeypatch, lambda state: state['config'].pop('activation'))
    with pytest.raises(SystemExit) as error:
        train_mlp_pytorch.main(flags + ['--resume', str(tmp_path), '--activation', 'elu'])
    assert str(error.value.code) == (f'error: --resume: the run in {tmp_path} was trained with --activation '
                                     f'leaky_relu, not elu; resume it with its own flags')
    assert train_mlp_pytorch.main(flags + ['--resume', str(tmp_path)])['steps'][-1] == 4


def test_activation_elu_trains_the_elu_network(tmp_path):
    metrics = train_mlp_pytorch.main(['--dataset', 'fake_cifar10', '--max_steps', '2', '--activation', 'elu',
                                      '--output_dir', str(tmp_path)])
    model = torch.load(tmp_path / 'model.pt', weights_only=True)
    assert metrics['config']['activation'] == 'elu' and model['config']['activation'] == 'elu'


def test_a_run_killed_while_it_wrote_its_model_is_finished_by_resume(tmp_path):
    """Killed after its last step, between model.pt and the metrics.json that says completed: its checkpoint holds
    every step, and --resume finishes it, as it would have ended."""
    flags = ['--dataset', 'fake_cifar10', '--max_steps', '2', '--eval_freq', '2', '--output_dir', str(tmp_path)]
    full = train_mlp_pytorch.main(flags)
    metrics = json.loads((tmp_path / 'metrics.json').read_text())
    (tmp_path / 'metrics.json').write_text(json.dumps({**metrics, 'status': 'running'}))  # as at the last evaluation
    resumed = train_mlp_pytorch.main(flags + ['--resume', str(tmp_path)])
    assert resumed['status'] == 'completed' and resumed['test_accuracy'] == full['test_accuracy']
    assert json.loads((tmp_path / 'metrics.json').read_text())['status'] == 'completed'
    assert (tmp_path / 'model.pt').exists()
