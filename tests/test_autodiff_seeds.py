"""VU question 9 across seeds: a summary that equals its runs."""
import json

import numpy as np
import pytest

import autodiff_seeds
import runkit
from command_line import run_main


def test_summary_equals_the_runs(tmp_path):
    study = autodiff_seeds.main(['--seeds', '3,5', '--max_steps', '20', '--output_dir', str(tmp_path)])
    assert [(run['activation'], run['learning_rate'], run['seed']) for run in study['runs']] == [
        (activation, learning_rate, seed) for activation in ('sigmoid', 'relu') for learning_rate in (0.1, 1.28, 12.8)
        for seed in (3, 5)]
    for run in study['runs']:
        assert run['config']['seed'] == run['seed'] and run['config']['activation'] == run['activation']
        assert run['config']['learning_rate'] == run['learning_rate'] and run['steps'][-1] == 20
        assert run['final_validation_accuracy'] == run['validation_accuracy'][-1]
        assert run['hidden_units'] == 8 and 0 <= run['dead_hidden_units'] <= 8
    assert study['runs'][0]['validation_accuracy'] != study['runs'][1]['validation_accuracy']  # the seed reached it
    for group, (first, second) in zip(study['groups'], zip(study['runs'][::2], study['runs'][1::2])):
        finals = [first['final_validation_accuracy'], second['final_validation_accuracy']]
        assert (group['activation'], group['learning_rate']) == (first['activation'], first['learning_rate'])
        assert group['mean'] == pytest.approx(np.mean(finals)) and group['std'] == pytest.approx(np.std(finals, ddof=1))
        assert group['stuck'] == sum(final < autodiff_seeds.STUCK for final in finals)
        assert group['all_units_dead'] == sum(run['dead_hidden_units'] == 8 for run in (first, second))
    assert 0.5 < study['validation_majority_share'] < 0.6
    assert json.loads((tmp_path / 'metrics.json').read_text())['groups'] == study['groups']  # JSON keeps floats exact
    assert (tmp_path / 'final_validation_accuracy.png').read_bytes()[:4] == b'\x89PNG'


def test_a_run_whose_units_are_all_dead_counts_as_such():
    runs = [{'activation': 'relu', 'learning_rate': rate, 'seed': 0, 'final_validation_accuracy': 0.5,
             'dead_hidden_units': dead, 'hidden_units': 8} for rate, dead in ((0.1, 8), (1.28, 7), (12.8, 0))]
    groups = [group for group in autodiff_seeds.summarise(runs) if group['activation'] == 'relu']
    assert [group['all_units_dead'] for group in groups] == [1, 0, 0]


def test_an_interrupted_study_keeps_what_its_finished_runs_found(tmp_path, monkeypatch, capsys):
    train, calls = autodiff_seeds.train_mlp_autodiff.train, []

    def interrupted_at_the_third_run(*args, **kwargs):
        calls.append(args)
        if len(calls) == 3:  # how runkit.Run ends a run that a stop request ended
            raise runkit.Interrupted('interrupted; what was recorded is in a scratch folder')
        return train(*args, **kwargs)

    monkeypatch.setattr(autodiff_seeds.train_mlp_autodiff, 'train', interrupted_at_the_third_run)
    status, stderr = run_main(autodiff_seeds.main, ['--seeds', '3,5', '--max_steps', '5',
                                                    '--output_dir', str(tmp_path)], capsys)
    assert (status, stderr.splitlines()[-1]) == (1, f'interrupted after 2 of 12 runs; what they found is in {tmp_path}')
    study = json.loads((tmp_path / 'metrics.json').read_text())
    assert study['status'] == 'interrupted' and [run['seed'] for run in study['runs']] == [3, 5]
    assert (tmp_path / 'final_validation_accuracy.png').exists()
