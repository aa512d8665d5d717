"""A study stopped between or during its runs loses nothing: run again with the same flags, it keeps the runs that
finished, continues the stopped one and writes the summary of them all; another study's folder needs --overwrite."""
import json
import signal

import pytest

import runkit
import seed_spread
import sweep_learning_rate
import train_mlp_numpy
from command_line import run_main

pytestmark = pytest.mark.usefixtures('run_curves_unrendered')


def stop_in_run(patch, number, step):
    """SIGTERM twice (stop at once) in the middle of step `step` of the study's run number `number` (from 1)."""
    runs, training = [], runkit.Run.training

    def counted(self, *args, **kwargs):
        runs.append(self)
        return training(self, *args, **kwargs)

    patch.setattr(runkit.Run, 'training', counted)
    progress = runkit.Run.progress

    def stopping(self, iterable):
        for item in progress(self, iterable):
            if len(runs) == number and self.step == step:
                for _ in range(2):
                    runkit.os.kill(runkit.os.getpid(), signal.SIGTERM)
            yield item

    patch.setattr(runkit.Run, 'progress', stopping)


def test_a_seed_study_stopped_in_its_second_run_continues_where_it_stopped(tmp_path, monkeypatch, capsys):
    argv = ['--dataset', 'fake_cifar10', '--seeds', '3,7,11', '--max_steps', '4', '--output_dir', str(tmp_path)]
    with monkeypatch.context() as patch:
        stop_in_run(patch, 2, 2)
        status, stderr = run_main(seed_spread.main, argv, capsys)
    assert status == 1 and stderr.endswith(f'interrupted after 1 of 3 runs; run the same command again to continue '
                                           f'the study in {tmp_path} (its finished runs are kept)\n')
    assert json.loads((tmp_path / 'metrics.json').read_text())['status'] == 'interrupted'
    first = (tmp_path / 'seed_3' / 'metrics.json').read_text()
    trained = []
    main = train_mlp_numpy.main
    monkeypatch.setattr(train_mlp_numpy, 'main', lambda argv: trained.append(argv) or main(argv))
    study = seed_spread.main(argv)
    assert [argv[argv.index('--seed') + 1] for argv in trained] == ['7', '11']  # seed 3's run was kept
    assert (tmp_path / 'seed_3' / 'metrics.json').read_text() == first
    assert [run['seed'] for run in study['runs']] == [3, 7, 11]
    recorded = json.loads((tmp_path / 'metrics.json').read_text())
    assert recorded['status'] == 'completed' and recorded['final_test_accuracy']['mean'] == pytest.approx(
        study['final_test_accuracy']['mean'])
    status, stderr = run_main(seed_spread.main, argv, capsys)  # a completed study is not run over
    assert status == 1 and 'already holds a study that completed (metrics.json); pass --overwrite' in stderr


def test_a_study_with_other_flags_does_not_continue_a_stopped_one(tmp_path, monkeypatch, capsys):
    argv = ['--dataset', 'fake_cifar10', '--seeds', '3,7', '--max_steps', '4', '--output_dir', str(tmp_path)]
    with monkeypatch.context() as patch:
        stop_in_run(patch, 2, 2)
        run_main(seed_spread.main, argv, capsys)
    status, stderr = run_main(seed_spread.main, argv[:-4] + ['--max_steps', '5', '--output_dir', str(tmp_path)],
                              capsys)
    assert status == 1 and 'already holds a study with other flags (metrics.json); pass --overwrite' in stderr


def test_a_sweep_stopped_in_a_run_resumes_that_run_from_its_checkpoint(tmp_path, monkeypatch, capsys):
    argv = ['--dataset', 'fake_cifar10', '--learning_rates', '0.1', '--epochs', '0.3', '--validation_size', '100',
            '--output_dir', str(tmp_path)]
    with monkeypatch.context() as patch:
        stop_in_run(patch, 1, 8)
        status, _ = run_main(sweep_learning_rate.main, argv, capsys)
    assert status == 1
    sweep = sweep_learning_rate.main(argv)
    resumed = json.loads((tmp_path / 'lr_0.1' / 'metrics.json').read_text())
    assert resumed['status'] == 'completed' and resumed['resumed_after_steps'] == [7]  # its last evaluation
    assert [run['learning_rate'] for run in sweep['runs']] == [0.1]
    assert json.loads((tmp_path / 'metrics.json').read_text())['status'] == 'completed'


def test_sigterm_between_two_runs_stops_the_study_in_one_line_and_overwrite_is_not_repeated(tmp_path, monkeypatch,
                                                                                          capsys):
    argv = ['--dataset', 'fake_cifar10', '--seeds', '3,7', '--max_steps', '2', '--output_dir', str(tmp_path)]
    main, calls = train_mlp_numpy.main, []

    def sigterm_first(argv):
        calls.append(argv)
        if len(calls) == 2:  # the first run is done, the second not begun
            runkit.os.kill(runkit.os.getpid(), signal.SIGTERM)
        return main(argv)

    with monkeypatch.context() as patch:
        patch.setattr(train_mlp_numpy, 'main', sigterm_first)
        status, stderr = run_main(seed_spread.main, argv + ['--overwrite'], capsys)
    assert status == 1 and stderr.endswith(f'interrupted after 1 of 2 runs; run the same command again, without '
                                           f'--overwrite, to continue the study in {tmp_path} (its finished runs '
                                           f'are kept)\n')
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # the study gave SIGTERM back as it found it
    assert [run['seed'] for run in seed_spread.main(argv)['runs']] == [3, 7]
