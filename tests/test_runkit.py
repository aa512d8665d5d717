"""What the training scripts share: the curves' legends say what each curve measures; no run is replaced by
accident, nothing is half-written, SIGTERM stops a run cleanly, every run records its data."""
import hashlib
import importlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import runkit
import train_mlp_numpy
import tune_mlp_pytorch
from command_line import run_main
from prepared_run import send_sigterm_after
from runkit import datasets


@pytest.mark.parametrize('config,train_loss,train_accuracy', [
    ({'learning_rate': 0.01, 'label_smoothing': 0.0, 'dropout': 0.0, 'augment': False},
     'train: cross-entropy, current batch', 'train: current batch'),
    ({'label_smoothing': 0.1, 'dropout': 0.2, 'augment': True},
     'train: label-smoothed (0.1)\ncross-entropy, current batch\n(dropout 0.2, crops and flips)',
     'train: current batch\n(dropout 0.2, crops and flips)'),
], ids=['plain', 'regularised'])
def test_curves_label_the_training_loss_for_what_it_measures(tmp_path, drawn_figures, config, train_loss,
                                                             train_accuracy):
    metrics = {'config': config, 'status': 'completed', 'steps': [1, 2], 'final_test_accuracy': 0.2,
               **{f'{split}_{quantity}': [0.1, 0.2]
                  for split in ('train', 'test') for quantity in ('loss', 'accuracy')}}
    runkit.plot_curves(metrics, tmp_path / 'curves.png')
    (figure,) = drawn_figures
    loss, accuracy = figure.axes
    assert loss.get_ylabel() == 'loss' and accuracy.get_ylabel() == 'accuracy'
    assert [text.get_text() for text in loss.get_legend().get_texts()] == [train_loss, 'test: cross-entropy, whole set']
    assert [text.get_text() for text in accuracy.get_legend().get_texts()] == [train_accuracy, 'test: whole set']


def test_a_failed_write_leaves_the_old_file_whole(tmp_path):
    path = tmp_path / 'metrics.json'
    path.write_text('{"the": "old run"}')

    def write_half_then_fail(temporary):
        with open(temporary, 'w') as f:
            f.write('{"half of a')
        raise OSError(28, 'No space left on device')

    with pytest.raises(OSError, match='No space left'):
        runkit.write_atomically(path, write_half_then_fail)
    assert path.read_text() == '{"the": "old run"}' and os.listdir(tmp_path) == ['metrics.json']
    runkit.write_atomically(path, lambda temporary: runkit.write_json(temporary, {'the': 'new run'}))
    assert json.loads(path.read_text()) == {'the': 'new run'} and os.listdir(tmp_path) == ['metrics.json']


TINY = ['--dataset', 'fake_cifar10', '--max_steps', '3', '--eval_freq', '3']
SCRIPTS = {  # every script that writes a run or a study, and flags that keep it short
    'train_mlp_numpy.py': TINY, 'train_mlp_pytorch.py': TINY, 'train_convnet_pytorch.py': TINY + ['--threads', '1'],
    'vu2021/train_mlp_autodiff.py': ['--max_steps', '3'],
    'experiments/sweep_learning_rate.py': ['--dataset', 'fake_cifar10', '--learning_rates', '0.1', '--epochs', '0.1'],
    'experiments/seed_spread.py': ['--dataset', 'fake_cifar10', '--seeds', '0', '--max_steps', '3'],
    'experiments/autodiff_seeds.py': ['--seeds', '0', '--max_steps', '3'],
    'experiments/sigmoid_vs_relu.py': ['--max_steps', '2', '--num_points', '20', '--batch_size', '10'],
}


@pytest.mark.parametrize('script', SCRIPTS)
def test_no_script_replaces_a_run_without_overwrite(tmp_path, script, capsys):
    (tmp_path / 'metrics.json').write_text('{"a": "run worth keeping"}')
    main = importlib.import_module(Path(script).stem).main
    status, stderr = run_main(main, [*SCRIPTS[script], '--output_dir', str(tmp_path)], capsys)
    assert status != 0 and stderr.strip() == (f'error: --output_dir {tmp_path} already holds a run (metrics.json); '
                                              f'pass --overwrite to replace it, or name another folder')
    assert set(os.listdir(tmp_path)) - {runkit.LOCK_FILE} == {'metrics.json'}  # refused before the run wrote a file
    assert (tmp_path / 'metrics.json').read_text() == '{"a": "run worth keeping"}'


def test_the_tuning_search_replaces_no_stage_without_overwrite(tmp_path, capsys):
    stage = tmp_path / 'mlp_pytorch_tuning' / 'baseline'
    stage.mkdir(parents=True)
    (stage / 'metrics.json').write_text('{}')
    status, stderr = run_main(tune_mlp_pytorch.main, ['--only', 'baseline', '--output_dir', str(tmp_path), '--extra',
                                                      '--dataset', 'fake_cifar10', '--max_steps', '2'], capsys)
    assert status != 0 and 'already holds a run (metrics.json); pass --overwrite' in stderr
    assert (stage / 'metrics.json').read_text() == '{}'


def test_a_checkpoint_or_a_model_alone_also_holds_a_run(tmp_path):
    (tmp_path / 'checkpoint.pt').write_bytes(b'what a run killed before its first metrics leaves behind')
    with pytest.raises(SystemExit, match=r'holds a run that did not finish; pass --resume .* to continue it'):
        train_mlp_numpy.main(TINY + ['--output_dir', str(tmp_path)])
    (tmp_path / 'checkpoint.pt').rename(tmp_path / 'model.pt')
    with pytest.raises(SystemExit, match=r'already holds a run \(model.pt\)'):
        train_mlp_numpy.main(TINY + ['--output_dir', str(tmp_path)])


def test_overwrite_replaces_the_whole_run(tmp_path):
    for name in ('metrics.json', 'model.pt', 'analysis.json', 'misclassified.png'):
        (tmp_path / name).write_text('of the old run')
    (tmp_path / 'notes.txt').write_text('not a run file: kept')
    metrics = train_mlp_numpy.main(TINY + ['--output_dir', str(tmp_path), '--overwrite'])
    assert json.loads((tmp_path / 'metrics.json').read_text())['steps'] == metrics['steps'] == [1, 3]
    assert sorted(os.listdir(tmp_path)) == ['.run.lock', 'curves.png', 'metrics.json', 'model.npz', 'notes.txt']


@pytest.mark.usefixtures('figures_unrendered')
def test_sigterm_stops_a_run_between_steps_and_keeps_what_it_recorded(tmp_path, monkeypatch):
    send_sigterm_after(monkeypatch, stop_after=4)
    with pytest.raises(SystemExit) as interrupted:
        train_mlp_numpy.main(['--dataset', 'fake_cifar10', '--max_steps', '10', '--eval_freq', '2',
                              '--output_dir', str(tmp_path)])
    assert str(interrupted.value.code) == f'interrupted; what was recorded is in {tmp_path}'
    metrics = json.loads((tmp_path / 'metrics.json').read_text())
    assert metrics['status'] == 'interrupted' and metrics['interrupted_after_step'] == 4
    assert metrics['steps'] == [1, 2, 4]
    assert (tmp_path / 'curves.png').exists() and not (tmp_path / 'model.npz').exists()  # a model only when complete
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # the handler is gone with the run


def test_a_second_request_stops_at_once():
    with runkit.stop_requests() as requests:
        os.kill(os.getpid(), signal.SIGTERM)
        assert requests == ['SIGTERM']
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)


@pytest.mark.usefixtures('figures_unrendered')
def test_the_data_is_recorded_with_its_fingerprint(tmp_path):
    from test_cifar10_utils import write_tiny_cifar10

    folder = tmp_path / 'cifar-10-batches-py'
    write_tiny_cifar10(str(folder))
    metrics = train_mlp_numpy.main(['--data_dir', str(folder), '--max_steps', '2', '--batch_size', '5',
                                    '--output_dir', str(tmp_path / 'run')])
    digest = hashlib.sha256(b''.join((folder / name).read_bytes() for name in datasets.data_files('cifar10')))
    config = metrics['config']
    assert (config['dataset'], config['data_dir'], config['data_fingerprint']) == \
        ('cifar10', str(folder), digest.hexdigest()[:16])
    assert train_mlp_numpy.main(TINY + ['--output_dir', str(tmp_path / 'synthetic')])['config']['data_fingerprint'] \
        == 'generated (fake_cifar10, data_seed 0)'


def tiny_loop(run, max_steps=2, eval_freq=1, dense_steps=0):
    """A training loop as the scripts write theirs, of max_steps steps whose training loss is 1 / step."""
    with run.training('a test', {'max_steps': max_steps, 'eval_freq': eval_freq, 'dense_steps': dense_steps}):
        for step in run.progress(range(run.step + 1, max_steps + 1)):
            if run.evaluates(step):
                run.log(step, train=(1.0 / step, 0.5), test=(1.0, 0.5))
    return run.metrics


def test_a_run_without_curves_writes_its_metrics_alone(tmp_path):
    with runkit.Run({'output_dir': str(tmp_path / 'metrics'), 'overwrite': False}, curves=False) as run:
        metrics = tiny_loop(run)
    assert metrics['steps'] == [1, 2] and sorted(os.listdir(tmp_path / 'metrics')) == ['.run.lock', 'metrics.json']
    with runkit.Run({'output_dir': str(tmp_path / 'plotted'), 'overwrite': False}) as run:
        tiny_loop(run)
    assert sorted(os.listdir(tmp_path / 'plotted')) == ['.run.lock', 'curves.png', 'metrics.json']


def test_a_run_in_memory_writes_nothing_and_records_all(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    metrics = tiny_loop(runkit.Run())
    assert metrics['steps'] == [1, 2] and metrics['status'] == 'completed' and os.listdir(tmp_path) == []


def test_dense_steps_evaluate_after_each_of_the_first_steps_too():
    metrics = tiny_loop(runkit.Run(), max_steps=12, eval_freq=5, dense_steps=3)
    assert metrics['steps'] == [1, 2, 3, 5, 10, 12] and metrics['train_loss'][:3] == [1.0, 0.5, 1 / 3]


def test_metrics_json_is_written_at_every_evaluation(tmp_path, monkeypatch):
    seen, log = [], runkit.Run.log

    def log_then_read(run, step, **splits):
        log(run, step, **splits)
        seen.append(json.loads((tmp_path / 'metrics.json').read_text())['steps'])

    monkeypatch.setattr(runkit.Run, 'log', log_then_read)
    with runkit.Run({'output_dir': str(tmp_path), 'overwrite': False}, curves=False) as run:
        tiny_loop(run, max_steps=3)
    assert seen == [[1], [1, 2], [1, 2, 3]]


def test_held_out_curves_say_over_how_many_views_and_keep_one_colour_per_split(tmp_path, drawn_figures):
    metrics = {'config': {'tta': True, 'tta_shift': 2}, 'status': 'completed', 'steps': [1, 2],
               'final_test_accuracy': 0.2, **{f'{split}_{quantity}': [0.1, 0.2] for quantity in ('loss', 'accuracy')
                                              for split in ('train', 'validation', 'test')}}
    runkit.plot_curves(metrics, tmp_path / 'curves.png')
    (figure,) = drawn_figures
    accuracy = figure.axes[1]
    assert [text.get_text() for text in accuracy.get_legend().get_texts()][1:] == \
        ['validation: whole set,\n6 views per image averaged', 'test: whole set,\n6 views per image averaged']
    for axes in figure.axes:
        assert [line.get_color() for line in axes.get_lines()] == [runkit.SPLIT_COLOURS[split]
                                                                  for split in ('train', 'validation', 'test')]


SECOND_REQUEST_DURING_THE_WRITES = '''
import os, signal, sys
import runkit, train_mlp_numpy

progress, write_json, requested = runkit.Run.progress, runkit.write_json, []

def progress_then_stop_after_step_2(run, iterable):
    for item in progress(run, iterable):
        yield item
        if run.step == 2:
            requested.append(True)
            os.kill(os.getpid(), signal.SIGTERM)  # the first request: stop after this step

def second_request_then_write(path, value):
    if requested:
        os.kill(os.getpid(), signal.SIGTERM)  # the second, while the run's files are being written
    write_json(path, value)

runkit.Run.progress, runkit.write_json = progress_then_stop_after_step_2, second_request_then_write
train_mlp_numpy.main(sys.argv[1:])
'''


def test_a_second_request_during_the_final_writes_stops_cleanly_in_one_line(tmp_path):
    # In a process of its own: the default SIGTERM handler, were it back, would kill the process it arrives in.
    folder = tmp_path / 'run'
    result = subprocess.run([sys.executable, '-c', SECOND_REQUEST_DURING_THE_WRITES, '--dataset', 'fake_cifar10',
                             '--max_steps', '5', '--eval_freq', '1', '--output_dir', str(folder)],
                            cwd=Path(__file__).resolve().parent.parent, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stderr
    assert result.stderr.splitlines()[-1] == f'interrupted; what was recorded is in {folder}'
    assert 'Traceback' not in result.stderr
    assert not [name for name in os.listdir(folder) if '.tmp' in name]  # nothing half-written is left


def test_a_run_shows_its_progress_with_the_last_loss_and_test_accuracy(capsys):
    tiny_loop(runkit.Run(), max_steps=3)
    shown = capsys.readouterr().err
    assert 'training: 100%' in shown and '3/3' in shown and 'loss=0.333, test_acc=0.500' in shown
