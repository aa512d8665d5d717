"""Nothing of a run is lost to what a user types: every check comes before --overwrite removes anything, --resume
and --overwrite together are refused, one run at a time in a folder, an unwritable folder is refused before the
first step, and a run whose model could not be written does not say it completed."""
import collections
import errno
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

import runkit
import train_mlp_numpy
import train_mlp_pytorch
from command_line import run_main
from runkit import model_files

ROOT = Path(__file__).resolve().parent.parent
shutil_usage = collections.namedtuple('usage', 'total used free')
TINY = ['--dataset', 'fake_cifar10', '--max_steps', '2', '--eval_freq', '1', '--batch_size', '50']

pytestmark = pytest.mark.usefixtures('figures_unrendered')  # the files' names matter here, not their pictures


def contents(folder):
    """{name: bytes} of every file in folder but the lock."""
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())
            if path.is_file() and path.name != runkit.LOCK_FILE}


@pytest.fixture
def old_run(tmp_path):
    """A finished NumPy run, as a committed result is."""
    folder = tmp_path / 'old'
    train_mlp_numpy.main(TINY + ['--output_dir', str(folder)])
    return folder


def test_resume_with_overwrite_is_refused_and_keeps_the_run(tmp_path, capsys):
    folder = tmp_path / 'run'
    train_mlp_pytorch.main(TINY + ['--output_dir', str(folder)])
    before = contents(folder)
    assert 'checkpoint.pt' in before
    status, stderr = run_main(train_mlp_pytorch.main, TINY + ['--resume', str(folder), '--overwrite'], capsys)
    assert (status, stderr) == (1, f'error: --resume continues the run in {folder} and --overwrite would delete it; '
                                   f'pass one of them\n')
    assert contents(folder) == before


@pytest.mark.parametrize('problem', ['no-data', 'batch-too-large'])
def test_overwrite_removes_nothing_when_the_new_run_is_refused(old_run, tmp_path, problem, capsys):
    before = contents(old_run)
    (tmp_path / 'empty').mkdir()
    flags = {'no-data': ['--dataset', 'cifar10', '--data_dir', str(tmp_path / 'empty'), '--max_steps', '2'],
             'batch-too-large': TINY + ['--batch_size', '9999']}[problem]
    status, stderr = run_main(train_mlp_numpy.main, flags + ['--output_dir', str(old_run), '--overwrite'], capsys)
    assert status == 1 and len(stderr.splitlines()) == 1, stderr
    assert contents(old_run) == before


def test_overwrite_still_replaces_the_whole_run_once_training_starts(old_run):
    (old_run / 'analysis.json').write_text('of the old run')
    metrics = train_mlp_numpy.main(TINY + ['--output_dir', str(old_run), '--overwrite', '--seed', '7'])
    assert metrics['config']['seed'] == 7 and not (old_run / 'analysis.json').exists()
    assert json.loads((old_run / 'metrics.json').read_text())['config']['seed'] == 7


def test_a_second_run_into_a_folder_in_use_is_refused_until_the_first_ends(tmp_path, capsys):
    folder = tmp_path / 'run'
    holder = subprocess.Popen(
        [sys.executable, '-c', 'import sys, time\nimport runkit\n'
         'runkit.prepare_output_dir(sys.argv[1])\n'
         'print("locked", flush=True)\ntime.sleep(60)', str(folder)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == 'locked\n'
        status, stderr = run_main(train_mlp_numpy.main, TINY + ['--output_dir', str(folder)], capsys)
        assert status == 1 and stderr.startswith(f'error: --output_dir {folder} is in use by a process still going on '
                                                 f'(process {holder.pid} on ')
        assert len(stderr.splitlines()) == 1 and not (folder / 'metrics.json').exists()
    finally:
        holder.kill()  # as a killed run would be: its lock goes with it
        holder.wait()
    assert train_mlp_numpy.main(TINY + ['--output_dir', str(folder)])['status'] == 'completed'


def test_a_folder_that_cannot_be_written_is_refused_before_training(tmp_path, monkeypatch, capsys):
    steps = []
    monkeypatch.setattr(runkit.Run, 'training', lambda *args, **kwargs: steps.append(args))

    def read_only(*args, **kwargs):  # what creating a file in a read-only folder raises; root can write anywhere
        raise PermissionError(errno.EACCES, 'Permission denied', str(tmp_path / 'run' / '.write-test-x'))

    monkeypatch.setattr(runkit.tempfile, 'NamedTemporaryFile', read_only)
    status, stderr = run_main(train_mlp_numpy.main, TINY + ['--output_dir', str(tmp_path / 'run')], capsys)
    assert (status, stderr) == (1, f'error: cannot write --output_dir {tmp_path / "run"}: Permission denied\n')
    assert steps == []


def writable(folder):
    try:
        tempfile.NamedTemporaryFile(dir=folder).close()
        return True
    except OSError:
        return False


READ_ONLY = '/sys/kernel'  # sysfs: not even root may create a file there


@pytest.mark.skipif(not os.path.isdir(READ_ONLY) or writable(READ_ONLY), reason=f'no read-only {READ_ONLY} here')
def test_a_folder_on_a_read_only_file_system_is_refused_before_training(capsys):
    status, stderr = run_main(train_mlp_numpy.main, TINY + ['--output_dir', READ_ONLY], capsys)
    assert status == 1 and stderr.startswith(f'error: cannot write --output_dir {READ_ONLY}: ')
    assert len(stderr.splitlines()) == 1


def test_a_model_that_cannot_be_written_ends_the_run_in_one_line_and_not_completed(tmp_path, monkeypatch, capsys):
    def disk_full(path, *args, **kwargs):
        raise OSError(errno.ENOSPC, 'No space left on device', path)

    monkeypatch.setattr(np, 'savez', disk_full)
    folder = tmp_path / 'run'
    status, stderr = run_main(train_mlp_numpy.main, TINY + ['--output_dir', str(folder)], capsys)
    assert (status, stderr.splitlines()[-1]) == (
        1, f'error: could not write model.npz into {folder}: No space left on device; the run did not complete')
    assert json.loads((folder / 'metrics.json').read_text())['status'] == 'failed'
    assert sorted(os.listdir(folder)) == ['.run.lock', 'curves.png', 'metrics.json']  # no temporary file left


def test_a_torch_file_that_cannot_be_written_is_an_os_error_naming_it():
    import torch

    with pytest.raises(OSError, match=r"the write failed \(.*\): '/dev/full'"):  # every write there: disk full
        model_files.save_torch_file({'weights': torch.zeros(1000)}, '/dev/full')


def test_a_torch_model_that_cannot_be_written_ends_the_run_in_one_line_and_not_completed(tmp_path, monkeypatch,
                                                                                         capsys):
    import torch

    save = model_files.save_torch_file
    monkeypatch.setattr(model_files, 'save_torch_file', lambda value, path: save(value, '/dev/full')
                        if 'model' in os.path.basename(str(path)) else save(value, path))
    folder = tmp_path / 'run'
    status, stderr = run_main(train_mlp_pytorch.main, TINY + ['--output_dir', str(folder)], capsys)
    assert status == 1 and stderr.splitlines()[-1].startswith(f'error: could not write model.pt into {folder}: '
                                                              f'the write failed (')
    assert json.loads((folder / 'metrics.json').read_text())['status'] == 'failed'
    assert torch.load(folder / 'checkpoint.pt', weights_only=True)['step'] == 2  # the checkpoints were written


@pytest.mark.parametrize('script', [train_mlp_numpy, train_mlp_pytorch], ids=['numpy', 'pytorch'])
def test_a_file_system_without_room_for_the_run_is_refused_before_training(tmp_path, monkeypatch, capsys, script):
    monkeypatch.setattr(runkit.shutil, 'disk_usage', lambda path: shutil_usage(total=10 ** 9, used=10 ** 9,
                                                                                   free=2 ** 20))
    monkeypatch.setattr(runkit.Run, 'training', lambda *args, **kwargs: pytest.fail('the run trained'))
    status, stderr = run_main(script.main, TINY + ['--output_dir', str(tmp_path / 'run')], capsys)
    assert status == 1 and stderr.startswith(f'error: --output_dir {tmp_path / "run"} has 1 MiB free; the run '
                                             f'writes up to ') and len(stderr.splitlines()) == 1, stderr


def test_a_folder_where_a_runs_file_goes_is_refused_before_anything_is_removed(old_run, capsys):
    (old_run / 'analysis.json').mkdir()
    before = contents(old_run)
    status, stderr = run_main(train_mlp_numpy.main, TINY + ['--output_dir', str(old_run), '--overwrite'], capsys)
    assert (status, stderr) == (1, f'error: --output_dir {old_run} holds analysis.json, which is not a plain file; '
                                   f'move it away\n')
    assert contents(old_run) == before


def test_resume_with_another_output_dir_is_refused_not_ignored(tmp_path, capsys):
    folder = tmp_path / 'run'
    train_mlp_pytorch.main(TINY + ['--output_dir', str(folder)])
    status, stderr = run_main(train_mlp_pytorch.main, TINY + ['--resume', str(folder), '--output_dir',
                                                              str(tmp_path / 'elsewhere')], capsys)
    assert status == 2 and f'--resume continues the run in {folder} and writes there; --output_dir' in stderr
    assert not (tmp_path / 'elsewhere').exists()


def test_ctrl_c_while_the_data_loads_is_one_line_not_a_traceback(tmp_path, monkeypatch, capsys):
    from runkit import datasets

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(datasets, 'load', interrupted)
    status, stderr = run_main(train_mlp_numpy.main, TINY + ['--output_dir', str(tmp_path / 'run')], capsys)
    assert (status, stderr) == (1, 'interrupted before training began; nothing was written\n')
    assert not [name for name in os.listdir(tmp_path / 'run') if name != runkit.LOCK_FILE]


def _as_killed(folder):
    """What kill -9 leaves of the run in folder: its metrics.json as of its last evaluation, still 'running'."""
    metrics = json.loads((folder / 'metrics.json').read_text())
    (folder / 'metrics.json').write_text(json.dumps({**metrics, 'status': 'running'}))


def test_a_plain_rerun_replaces_a_killed_run_that_keeps_no_checkpoint(old_run, capsys):
    _as_killed(old_run)
    (old_run / 'first_layer.png').write_bytes(b'an analysis of the killed run')
    status, stderr = run_main(train_mlp_numpy.main, TINY + ['--output_dir', str(old_run), '--seed', '3'], capsys)
    assert status == 0 and f"{old_run}: replacing its run, which did not finish and keeps no checkpoint" in stderr
    assert json.loads((old_run / 'metrics.json').read_text())['config']['seed'] == 3
    assert not (old_run / 'first_layer.png').exists()  # nothing of the old run stays beside the new one


def test_a_rerun_into_an_unfinished_run_with_a_checkpoint_is_told_to_resume_it(tmp_path, capsys):
    flags = TINY + ['--output_dir', str(tmp_path / 'run')]
    train_mlp_pytorch.main(flags)
    _as_killed(tmp_path / 'run')
    before = contents(tmp_path / 'run')
    status, stderr = run_main(train_mlp_pytorch.main, flags, capsys)
    assert (status, stderr) == (1, f'error: --output_dir {tmp_path / "run"} holds a run that did not finish; pass '
                                   f'--resume {tmp_path / "run"} to continue it; pass --overwrite to replace it, or '
                                   f'name another folder\n')
    assert contents(tmp_path / 'run') == before


def test_sigterm_while_the_data_loads_is_one_line_as_ctrl_c_is(tmp_path, monkeypatch, capsys):
    import signal

    from runkit import datasets

    def terminated(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)
    monkeypatch.setattr(datasets, 'load', terminated)
    status, stderr = run_main(train_mlp_numpy.main, TINY + ['--output_dir', str(tmp_path / 'run')], capsys)
    assert (status, stderr) == (1, 'interrupted before training began; nothing was written\n')
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # given back as it was
