"""The seed study: one run per seed, and a summary that equals those runs."""
import json

import numpy as np
import pytest

import seed_spread


@pytest.mark.usefixtures('run_curves_unrendered')
def test_summary_equals_the_runs_of_every_seed(tmp_path):
    study = seed_spread.main(['--dataset', 'fake_cifar10', '--seeds', '3,7,11', '--max_steps', '30',
                              '--output_dir', str(tmp_path)])
    assert [run['seed'] for run in study['runs']] == [3, 7, 11]
    finals = []
    for run in study['runs']:
        metrics = json.loads((tmp_path / f'seed_{run["seed"]}' / 'metrics.json').read_text())
        assert metrics['config']['seed'] == run['seed'] and metrics['steps'][-1] == 30
        assert run['final_test_accuracy'] == metrics['final_test_accuracy']
        assert run['test_accuracy'] == metrics['test_accuracy']
        finals.append(metrics['final_test_accuracy'])
    assert len(set(finals)) > 1, 'different seeds should give different runs'
    stats = study['final_test_accuracy']
    assert stats['mean'] == pytest.approx(np.mean(finals)) and stats['std'] == pytest.approx(np.std(finals, ddof=1))
    assert (stats['min'], stats['max']) == (min(finals), max(finals))
    assert json.loads((tmp_path / 'metrics.json').read_text())['final_test_accuracy'] == pytest.approx(stats)
    assert (tmp_path / 'final_test_accuracy_per_seed.png').read_bytes()[:4] == b'\x89PNG'


def test_share_counts_runs_at_or_above_the_assignment_figure():
    expected = seed_spread.ASSIGNMENT_EXPECTATION
    assert seed_spread.summarise([expected - 0.01, expected, expected + 0.02, 0.1])['share_at_least_expectation'] == 0.5


@pytest.mark.parametrize('seeds, message', [('1,x', "integers >= 0 such as 0,1,2, got '1,x'"),
                                            ('0,-1', "integers >= 0 such as 0,1,2, got '0,-1'"),
                                            ('1,1', "distinct seeds, got '1,1'")])
def test_bad_seed_list_is_a_one_line_error(capsys, seeds, message):
    with pytest.raises(SystemExit):
        seed_spread.main(['--seeds', seeds])
    assert capsys.readouterr().err.strip().endswith(message)
