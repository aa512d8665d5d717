"""The tuning search on a small synthetic set: where its runs go, and a stage whose loss diverges."""
import functools
import json
from pathlib import Path

import pytest

import cifar10_utils
import tune_mlp_pytorch
from command_line import run_main

pytestmark = pytest.mark.usefixtures('figures_unrendered')  # no test here looks at a figure

ROOT = Path(__file__).resolve().parent.parent

# Every stage's flags give way to these: 2 steps of a tiny network, at a learning rate that makes the loss diverge.
EXTRA = ['--dataset', 'fake_cifar10', '--validation_size', '100', '--epochs', '1', '--dnn_hidden_units', '8',
         '--eval_freq', '1', '--learning_rate', '1e30']


def test_runs_go_under_output_dir_and_a_diverged_stage_does_not_end_the_search(tmp_path, monkeypatch):
    monkeypatch.setattr(cifar10_utils, 'get_synthetic',
                        functools.partial(cifar10_utils.get_synthetic, num_train=500, num_test=100))
    committed = (ROOT / 'results' / 'mlp_pytorch_best' / 'metrics.json').read_bytes()
    monkeypatch.chdir(ROOT)
    tune_mlp_pytorch.main(['--only', 'baseline', 'longer', '--warmup', '0', '--final_warmup', '0',
                           '--output_dir', str(tmp_path), '--extra', *EXTRA])
    for run in ('mlp_pytorch_tuning/baseline', 'mlp_pytorch_best'):
        metrics = json.loads((tmp_path / run / 'metrics.json').read_text())
        assert metrics['status'] == 'diverged' and metrics['diverged_at_step'] == 2
    table = (tmp_path / 'mlp_pytorch_tuning' / 'table.md').read_text()
    assert table.count('| diverged at step 2 | — |') == 2 and 'Chosen on validation accuracy: none' in table
    assert (ROOT / 'results' / 'mlp_pytorch_best' / 'metrics.json').read_bytes() == committed
    search = json.loads((tmp_path / 'mlp_pytorch_tuning' / 'metrics.json').read_text())
    assert search['status'] == 'completed' and search['stages'] == ['baseline', 'longer']
    (tmp_path / 'mlp_pytorch_tuning' / 'metrics.json').unlink()  # --table_only reads the stages and starts no search
    tune_mlp_pytorch.main(['--table_only', '--output_dir', str(tmp_path)])
    assert not (tmp_path / 'mlp_pytorch_tuning' / 'metrics.json').exists()


@pytest.mark.parametrize('flags, message', [
    (['--only', 'nope'], "argument --only: invalid choice: 'nope'"),
    (['--epochs', '0'], 'argument --epochs: expected a positive integer'),
    (['--final_epochs', '0'], 'argument --final_epochs: expected a positive integer'),
    (['--extra', '--batch_size', '0'], 'argument --batch_size: expected a positive integer'),
], ids=['unknown-stage', 'epochs', 'final-epochs', 'bad-extra'])
def test_bad_flags_are_refused_before_any_stage_trains(tmp_path, monkeypatch, capsys, flags, message):
    monkeypatch.setattr(tune_mlp_pytorch.runkit.Run, 'training', lambda *args, **kwargs: pytest.fail('a stage trained'))
    status, stderr = run_main(tune_mlp_pytorch.main, ['--output_dir', str(tmp_path), *flags], capsys)
    assert status == 2 and message in stderr and len(stderr.splitlines()) == 1, stderr
