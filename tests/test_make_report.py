"""The report generator on a small fake results folder (tables equal the metrics, missing runs say so), and on the
committed results, whose report it must leave as committed."""
import json
import re
import shutil
from pathlib import Path

import matplotlib.figure
import numpy as np
import pytest

import cifar10_utils
import make_report
import seed_spread
import sigmoid_vs_relu
from runkit import models

ROOT = Path(__file__).resolve().parent.parent

TEMPLATE = """# Report

Hand-written prose stays as it is.

<!-- BEGIN run:mlp_numpy -->
stale content
<!-- END run:mlp_numpy -->

<!-- BEGIN run:convnet -->
<!-- END run:convnet -->

<!-- BEGIN run:best -->
<!-- END run:best -->

<!-- BEGIN recipe:best:mlp_numpy -->
<!-- END recipe:best:mlp_numpy -->

<!-- BEGIN schedule:best -->
<!-- END schedule:best -->

<!-- BEGIN schedule:convnet_best -->
<!-- END schedule:convnet_best -->

<!-- BEGIN tuning:tuning -->
<!-- END tuning:tuning -->

<!-- BEGIN sweep:lr_sweep -->
<!-- END sweep:lr_sweep -->

<!-- BEGIN sigmoid_vs_relu:sigmoid_vs_relu -->
<!-- END sigmoid_vs_relu:sigmoid_vs_relu -->

<!-- BEGIN seeds:seeds -->
<!-- END seeds:seeds -->

More prose.
"""


def run_metrics(test_accuracy, validation_accuracy=None, wall_time_s=12.5, **config):
    steps = [1, 50, 100][:len(test_accuracy)]
    metrics = {'config': {'learning_rate': 0.01, 'batch_size': 32, 'max_steps': 100, 'output_dir': 'x', **config},
               'status': 'completed', 'steps': steps, 'train_loss': [2.3, 1.5, 1.2][:len(steps)],
               'train_accuracy': [0.1, 0.4, 0.5][:len(steps)], 'test_loss': [2.3, 1.6, 1.4][:len(steps)],
               'test_accuracy': test_accuracy, 'final_test_accuracy': test_accuracy[-1],
               'best_test_accuracy': max(test_accuracy), 'wall_time_s': wall_time_s}
    if validation_accuracy:
        metrics['validation_loss'] = metrics['test_loss']
        metrics['validation_accuracy'] = validation_accuracy
    return metrics


def write(path, metrics):
    path.mkdir(parents=True, exist_ok=True)
    (path / 'metrics.json').write_text(json.dumps(metrics))


@pytest.fixture
def results(tmp_path):
    results = tmp_path / 'results'
    write(results / 'mlp_numpy', run_metrics([0.1, 0.31234, 0.29876]))
    write(results / 'best', run_metrics([0.2, 0.4, 0.45], [0.25, 0.41, 0.47], learning_rate=0.003,
                                        optimizer='adamw', lr_schedule='onecycle', warmup_steps=10,
                                        steps_per_epoch=20))
    # A ConvNet run made before its config recorded steps_per_epoch.
    write(results / 'convnet_best', run_metrics([0.3, 0.6, 0.8], learning_rate=0.05, optimizer='sgd',
                                                lr_schedule='onecycle', warmup_steps=10))
    # Alphabetically adam_standardize comes first; the tuning script's stage order puts baseline first.
    write(results / 'tuning' / 'adam_standardize', run_metrics([0.3, 0.5], [0.32, 0.52], 300.0, optimizer='adam'))
    write(results / 'tuning' / 'baseline', run_metrics([0.2, 0.4], [0.21, 0.42], 60.0, optimizer='sgd'))
    # Its last validation accuracy is the highest, but it comes from before the loss diverged.
    diverged = run_metrics([0.3, 0.6], [0.35, 0.9], 30.0, optimizer='adam', learning_rate=10.0)
    write(results / 'tuning' / 'wide_deep', {**diverged, 'status': 'diverged', 'diverged_at_step': 60})
    sweep_runs = [{'learning_rate': rate, 'status': status, 'diverged_at_step': diverged,
                   'best_validation_accuracy': best, 'steps': [1, 10], 'train_loss': [2.3, loss]}
                  for rate, status, diverged, best, loss in [(0.001, 'completed', None, 0.25, 1.9),
                                                             (0.1, 'completed', None, 0.45, 1.3),
                                                             (10.0, 'diverged', 4, 0.1, float('nan'))]]
    write(results / 'lr_sweep', {'config': {'epochs': 2, 'validation_size': 500}, 'runs': sweep_runs,
                                 'best_learning_rate': 0.1, 'best_validation_accuracy': 0.45})
    args = sigmoid_vs_relu.build_parser().parse_args(['--max_steps', '4', '--eval_freq', '2', '--num_points', '40',
                                                      '--batch_size', '10'])
    write(results / 'sigmoid_vs_relu', sigmoid_vs_relu.experiment(args))
    seed_runs = [{'seed': seed, 'final_test_accuracy': final, 'best_test_accuracy': best, 'steps': [1, 50, 100],
                  'test_accuracy': [0.1, best, final]} for seed, final, best in [(0, 0.45, 0.47), (1, 0.47, 0.48),
                                                                                 (2, 0.46, 0.5)]]
    write(results / 'seeds', {'config': {}, 'assignment_expectation': seed_spread.ASSIGNMENT_EXPECTATION,
                              'runs': seed_runs,
                              'final_test_accuracy': seed_spread.summarise([0.45, 0.47, 0.46]),
                              'best_test_accuracy': seed_spread.summarise([0.47, 0.48, 0.5])})
    return results


def generate(tmp_path, results):
    """Run the generator on a copy of TEMPLATE in tmp_path/report."""
    report = tmp_path / 'report' / 'report.md'
    report.parent.mkdir()
    report.write_text(TEMPLATE)
    missing = make_report.main(['--results_dir', str(results), '--report', str(report),
                                '--figures_dir', str(tmp_path / 'report' / 'figures')])
    return report.read_text(), missing


def block(text, name):
    return re.search(f'<!-- BEGIN {name} -->\n(.*?)<!-- END {name} -->', text, re.DOTALL)[1]


def table_rows(text):
    """The body rows of the Markdown table in text, as lists of cells."""
    lines = [line for line in text.splitlines() if line.startswith('|')]
    return [[cell.strip() for cell in line.strip('|').split('|')] for line in lines[2:]]


def fill_block(report, results, name):
    """make_report on report, first written with the one empty block `name` (kind:folder) when it does not exist;
    the block's text."""
    if not report.exists():
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(f'<!-- BEGIN {name} -->\n<!-- END {name} -->\n')
    make_report.main(['--results_dir', str(results), '--report', str(report),
                      '--figures_dir', str(report.parent / 'figures')])
    return block(report.read_text(), name)


def load(results, *parts):
    return json.loads(results.joinpath(*parts, 'metrics.json').read_text())


def test_blocks_equal_the_metrics_and_missing_runs_say_so(tmp_path, results):
    text, missing = generate(tmp_path, results)
    figures = tmp_path / 'report' / 'figures'

    assert text.startswith('# Report\n\nHand-written prose stays as it is.\n') and text.endswith('More prose.\n')
    assert 'stale content' not in text

    run = block(text, 'run:mlp_numpy')
    metrics = load(results, 'mlp_numpy')
    pattern = r'Final test accuracy \*\*([\d.]+)\*\* \(best ([\d.]+), at step (\d+): selected on the test set\)'
    final, best, step = re.search(pattern, run).groups()
    assert float(final) == round(metrics['final_test_accuracy'], 4)
    assert float(best) == round(metrics['best_test_accuracy'], 4) == 0.3123 and step == '50'
    assert '(figures/mlp_numpy/curves.png)' in run
    # With a validation split, the best accuracy quoted is the validation one, not a maximum over test evaluations.
    assert block(text, 'run:best').startswith('Final test accuracy **0.4500**, final validation accuracy 0.4700 '
                                              '(best 0.4700, at step 100);')

    assert missing == ['run:convnet']
    assert 'Not yet run' in block(text, 'run:convnet') and 'results/convnet/metrics.json' in block(text, 'run:convnet')

    recipe = {row[0]: row[1:] for row in table_rows(block(text, 'recipe:best:mlp_numpy'))}
    assert recipe['`--learning_rate`'] == ['0.01', '0.003'] and recipe['`--optimizer`'] == ['—', 'adamw']
    assert '`--output_dir`' not in recipe

    rows = table_rows(block(text, 'tuning:tuning'))
    assert [row[0] for row in rows] == ['`baseline`', '`adam_standardize`', '`wide_deep`']
    assert rows[2][2:4] == ['diverged at step 60', '—']
    for row in rows[:2]:
        stage = load(results, 'tuning', row[0].strip('`'))
        assert float(row[2]) == stage['validation_accuracy'][-1]
        assert float(row[3]) == stage['final_test_accuracy']
    assert '`--optimizer adam`' in rows[1][1]
    assert 'Chosen on validation accuracy: **`adam_standardize`** (0.5200)' in block(text, 'tuning:tuning')

    sweep = load(results, 'lr_sweep')
    rows = table_rows(block(text, 'sweep:lr_sweep'))
    assert [float(row[0]) for row in rows] == [run['learning_rate'] for run in sweep['runs']]
    assert [float(row[2]) for row in rows] == [run['best_validation_accuracy'] for run in sweep['runs']]
    assert [row[1] for row in rows] == ['completed', 'completed', 'diverged'] and rows[2][4] == '4'
    assert 'Best: learning rate **0.1**' in block(text, 'sweep:lr_sweep')

    assert '10 warm-up steps up to a peak of 0.003, 100 steps (5 epochs)' in block(text, 'schedule:best')
    assert '10 warm-up steps up to a peak of 0.05, 100 steps in all.' in block(text, 'schedule:convnet_best')

    comparison = load(results, 'sigmoid_vs_relu')['runs']
    rows = {row[0]: row for row in table_rows(block(text, 'sigmoid_vs_relu:sigmoid_vs_relu'))}
    for name, run in comparison.items():
        assert float(rows[name][1]) == round(run['final_test_accuracy'], 4)
        assert float(rows[name][3]) == pytest.approx(run['weight_grad_norms'][0][0], rel=1e-2)

    study = load(results, 'seeds')
    rows = {row[0]: row[1:] for row in table_rows(block(text, 'seeds:seeds'))}
    assert list(rows) == ['mean', 'std', 'min', 'max']
    for statistic, (final, best) in rows.items():
        assert float(final) == round(study['final_test_accuracy'][statistic], 4)
        assert float(best) == round(study['best_test_accuracy'][statistic], 4)
    assert "2 of the 3 runs (67%) end at or above the assignment's 0.46" in block(text, 'seeds:seeds')

    for figure in ['mlp_numpy/curves.png', 'best/curves.png', 'best/lr_schedule.png', 'convnet_best/lr_schedule.png',
                   'lr_sweep/validation_accuracy_vs_learning_rate.png',
                   'lr_sweep/training_loss_per_learning_rate.png', 'sigmoid_vs_relu/curves.png',
                   'seeds/final_test_accuracy_per_seed.png']:
        assert (figures / figure).read_bytes()[:4] == b'\x89PNG', figure
        assert f'(figures/{figure})' in text
    assert not (figures / 'convnet').exists()

    # Every marker survives, so the generator can run again on its own output.
    assert re.findall('<!-- .* -->', text) == re.findall('<!-- .* -->', TEMPLATE)


def test_bad_markers_are_refused(tmp_path):
    results = make_report.Results(tmp_path, tmp_path / 'figures', tmp_path / 'report.md')
    with pytest.raises(ValueError, match='unknown block'):
        make_report.fill('<!-- BEGIN plot:x -->\n<!-- END plot:x -->\n', results)
    with pytest.raises(ValueError, match='no matching'):
        make_report.fill('<!-- BEGIN run:x -->\n<!-- END run:y -->\n', results)


def test_committed_reports_are_what_the_committed_results_generate(tmp_path, monkeypatch):
    # The text is compared; laying out and rendering the figures would take seconds and is tested above.
    monkeypatch.setattr(matplotlib.figure.Figure, 'tight_layout', lambda figure, **kwargs: None)
    monkeypatch.setattr(matplotlib.figure.Figure, 'savefig', lambda figure, path, **kwargs: Path(path).touch())
    committed = {name: (ROOT / 'report' / f'{name}.md').read_text() for name in make_report.REPORTS}
    for name, text in committed.items():
        (tmp_path / f'{name}.md').write_text(text)
    missing = make_report.main(['--results_dir', str(ROOT / 'results'), '--figures_dir', str(tmp_path / 'figures'),
                                '--report', *(str(tmp_path / f'{name}.md') for name in committed)])
    assert missing == []
    for name, text in committed.items():
        assert (tmp_path / f'{name}.md').read_text() == text, name


def test_autodiff_blocks_equal_the_runs_and_count_blocking_units(tmp_path):
    import autodiff_seeds
    import train_mlp_autodiff

    results = tmp_path / 'results'
    for activation in ('sigmoid', 'relu'):
        train_mlp_autodiff.main(['--activation', activation, '--max_steps', '5', '--eval_freq', '5',
                                 '--output_dir', str(results / activation)])
    model, config = models.load(results / 'relu' / 'model.npz', 'autodiff')
    model.layers[0].bias.value[:] = -1e3  # every ReLU off at every point
    models.save('autodiff', model, config, (results / 'relu' / 'model.npz').parent)
    model, config = models.load(results / 'sigmoid' / 'model.npz', 'autodiff')
    model.layers[0].weight.value[:] = model.layers[0].bias.value[:] = 0  # every sigmoid at its steepest
    models.save('autodiff', model, config, (results / 'sigmoid' / 'model.npz').parent)
    finals = {('sigmoid', 0.1): (0.9, 0.5), ('sigmoid', 1.28): (0.95, 0.96), ('sigmoid', 12.8): (0.8, 0.7),
              ('relu', 0.1): (0.99, 0.98), ('relu', 1.28): (0.97, 0.99), ('relu', 12.8): (0.55, 0.45)}
    runs = [{'activation': activation, 'learning_rate': learning_rate, 'seed': seed, 'hidden_units': 8,
             'config': {'dataset': 'synth', 'data_fingerprint': 'generated (synth, data_seed 0)'},
             'final_validation_accuracy': pair[seed], 'dead_hidden_units': 8 if pair[seed] < 0.5 else seed}
            for (activation, learning_rate), pair in finals.items() for seed in (0, 1)]
    write(results / 'seeds', {'config': {'seeds': [0, 1]}, 'stuck_below': autodiff_seeds.STUCK,
                              'validation_majority_share': 0.55, 'runs': runs,
                              'groups': autodiff_seeds.summarise(runs)})
    write(results / 'cifar', run_metrics([0.1], dataset='cifar10'))
    report = tmp_path / 'report.md'
    report.write_text('<!-- BEGIN boundary:sigmoid:relu -->\n<!-- END boundary:sigmoid:relu -->\n'
                      '<!-- BEGIN activation_seeds:seeds -->\n<!-- END activation_seeds:seeds -->\n')
    make_report.main(['--results_dir', str(results), '--report', str(report),
                      '--figures_dir', str(tmp_path / 'figures')])
    text = report.read_text()

    rows = table_rows(block(text, 'boundary:sigmoid:relu'))
    for row, activation in zip(rows, ('sigmoid', 'relu')):
        metrics = load(results, activation)
        assert row[:2] == [activation, '0.1']
        assert float(row[2]) == round(metrics['validation_accuracy'][-1], 4)
        assert float(row[3]) == round(metrics['final_test_accuracy'], 4)
    assert rows[0][5:] == ['0 of 8', '0.0%'] and rows[1][5:] == ['8 of 8', '100.0%']
    assert (tmp_path / 'figures' / 'sigmoid' / 'decision_boundary.png').read_bytes()[:4] == b'\x89PNG'

    assert 'Data: generated (synth, data_seed 0).' in block(text, 'activation_seeds:seeds')
    rows = table_rows(block(text, 'activation_seeds:seeds'))
    assert [row[:2] for row in rows] == [[activation, rate] for activation in ('sigmoid', 'relu')
                                         for rate in ('0.1', '1.28', '12.8')]
    assert rows[0][2:] == ['0.7000', '0.2828', '0.5000', '0.9000', '1 of 2', '0 of 2']
    assert rows[5][-2:] == ['2 of 2', '1 of 2']
    assert (tmp_path / 'figures' / 'seeds' / 'final_validation_accuracy.png').read_bytes()[:4] == b'\x89PNG'

    with pytest.raises(ValueError, match='results/cifar trained on cifar10, not synth'):
        make_report.boundary_block(make_report.Results(results, tmp_path / 'figures', report), 'cifar')


def test_blocks_state_the_data_and_refuse_a_run_on_other_data(tmp_path):
    results = tmp_path / 'results'
    write(results / 'recorded', run_metrics([0.3], dataset='cifar10', data_dir='cifar10/cifar-10-batches-py',
                                            data_fingerprint='0123456789abcdef'))
    write(results / 'older', run_metrics([0.3]))
    write(results / 'smoke',
          run_metrics([0.3], dataset='synthetic', data_fingerprint='generated (synthetic, data_seed 0)'))
    report = tmp_path / 'report.md'
    report.write_text(''.join(f'<!-- BEGIN run:{name} -->\n<!-- END run:{name} -->\n'
                              for name in ('recorded', 'older')))
    make_report.main(['--results_dir', str(results), '--report', str(report), '--figures_dir', str(tmp_path / 'f')])
    text = report.read_text()
    assert 'Data: cifar10 from `cifar10/cifar-10-batches-py`, fingerprint `0123456789abcdef`.' \
        in block(text, 'run:recorded')
    assert 'fingerprint not recorded.' in block(text, 'run:older')
    report.write_text('<!-- BEGIN run:smoke -->\n<!-- END run:smoke -->\n')
    with pytest.raises(SystemExit) as error:
        make_report.main(['--results_dir', str(results), '--report', str(report), '--figures_dir', str(tmp_path / 'f')])
    assert str(error.value.code) == ('error: report.md: results/smoke trained on synthetic, not cifar10: '
                                     'it does not belong in this block')
    report.write_text('<!-- BEGIN run:smoke:synthetic -->\n<!-- END run:smoke:synthetic -->\n')
    make_report.main(['--results_dir', str(results), '--report', str(report), '--figures_dir', str(tmp_path / 'f')])
    assert 'Data: generated (synthetic, data_seed 0).' in report.read_text()


def test_analysis_block_equals_the_analysis(tmp_path):
    import evaluate

    results = tmp_path / 'results'
    (results / 'net').mkdir(parents=True)
    analysis = {'data': {'dataset': 'cifar10'}, 'run_final_test_accuracy': 0.7,
                **evaluate.analyse(np.array([0, 1, 1, 3, 9, 9, 6, 7, 8, 9]), np.arange(10), cifar10_utils.CLASSES)}
    (results / 'net' / 'analysis.json').write_text(json.dumps(analysis))
    write(results / 'net', run_metrics([0.5, 0.7]))
    (results / 'net' / 'misclassified.png').write_bytes(b'\x89PNG fake')
    report = tmp_path / 'report' / 'report.md'
    text = fill_block(report, results, 'analysis:net')
    assert 'test accuracy **0.7000** on 10 test images' in text and "final test accuracy: 0.7000" in text
    rows = {row[0]: row[1:] for row in table_rows(text)}
    assert rows['automobile'] == ['0.5000', '1.0000'] and rows['bird'] == ['—', '0.0000']
    assert 'bird taken for automobile (1)' in text
    figures = tmp_path / 'report' / 'figures' / 'net'
    assert (figures / 'misclassified.png').read_bytes() == b'\x89PNG fake'
    assert (figures / 'confusion_matrix.png').read_bytes()[:4] == b'\x89PNG'
    assert '(figures/net/first_layer.png)' not in text and '(figures/net/misclassified.png)' in text

    write(results / 'net', run_metrics([0.5, 0.8]))  # the run changed, its analysis did not
    with pytest.raises(SystemExit, match='analysis.json .of a run of test accuracy 0.7. is not of the run'):
        fill_block(report, results, 'analysis:net')

    # evaluated on other views than the run's: its accuracy is its own, and the block says which views
    analysis['views'] = {'tta': True, 'tta_shift': 1, 'as_in_the_run': False, 'count': 6}
    analysis['run_final_test_accuracy'] = 0.65
    (results / 'net' / 'analysis.json').write_text(json.dumps(analysis))
    write(results / 'net', run_metrics([0.5, 0.65]))
    text = fill_block(report, results, 'analysis:net')
    assert '`python evaluate.py results/net --tta --tta_shift 1`: test accuracy **0.7000** on 10 test images, ' \
           'averaged over 6 views of each image (the run\'s final test accuracy: 0.6500)' in text
    write(results / 'net', run_metrics([0.5, 0.8]))  # and when the run changes, that analysis is stale too
    with pytest.raises(SystemExit, match='analysis.json .of a run of test accuracy 0.65. is not of the run'):
        fill_block(report, results, 'analysis:net')


def test_tta_study_block_tables_every_candidate_and_marks_the_choice(tmp_path):
    import tta_study

    results = tmp_path / 'results'
    candidates = [{**views, 'views': count, 'validation_loss': 0.5 - accuracy / 10, 'validation_accuracy': accuracy}
                  for views, count, accuracy in zip(tta_study.CANDIDATES, [1, 2, 3, 6, 3, 6],
                                                    [0.80, 0.81, 0.805, 0.8125, 0.79, 0.8125])]
    write(results / 'study', {'config': {'run_dir': 'results/net_val', 'dataset': 'cifar10',
                                         'run_config': {'dataset': 'cifar10', 'data_fingerprint': 'abc'}},
                              'num_validation': 5000, 'rule': 'the highest validation accuracy; fewer views on a tie',
                              'candidates': candidates, 'chosen': tta_study.choose(candidates)})
    text = fill_block(tmp_path / 'report' / 'report.md', results, 'tta_study:study')
    assert text.startswith('`results/net_val` evaluated on its 5000 validation images; the rule, fixed in advance: '
                           'the highest validation accuracy; fewer views on a tie.')
    assert 'fingerprint `abc`' in text
    rows = table_rows(text)
    assert [row[2] for row in rows] == ['0.8000', '0.8100', '0.8050', '**0.8125**', '0.7900', '0.8125']
    assert rows[3] == ['**`--tta`, `--tta_shift 1`**', '**6**', '**0.8125**', '**0.4188**']
    assert rows[0][0] == 'no `--tta`, `--tta_shift 0`'
    assert (tmp_path / 'report' / 'figures' / 'study' / 'validation_accuracy.png').read_bytes()[:4] == b'\x89PNG'


def test_a_face_block_states_a_run_that_did_not_complete(tmp_path, figures_unrendered):
    run = tmp_path / 'results' / 'face_run'
    run.mkdir(parents=True)
    metrics = {'config': {'offering': 'bgu2023', 'script': 'train_mlp_numpy', 'lr': 0.1, 'batch_size': 128},
               'status': 'diverged', 'diverged_at_step': 12, 'steps': [1], 'train_loss': [2.3],
               'train_accuracy': [0.1], 'validation_loss': [2.3], 'validation_accuracy': [0.1],
               'test_loss': [2.3], 'test_accuracy': [0.1], 'final_test_accuracy': 0.1, 'best_test_accuracy': 0.1,
               'wall_time_s': 1.0}
    (run / 'metrics.json').write_text(json.dumps(metrics))
    text = '<!-- BEGIN face:face_run -->\n<!-- END face:face_run -->\n'
    results = make_report.Results(tmp_path / 'results', tmp_path / 'figures', tmp_path / 'report.md')
    filled, missing = make_report.fill(text, results)
    assert 'Status: **diverged** at step 12.' in filled and missing == []


NUMBERED = """See [Figure 9](figures/b.png), [Table 7](#tab-x) and [Figure 1](figures/a.png).

![a](figures/a.png)

**Figure 5.** The first.

<a id="tab-x"></a>**Table 3.** The table.

| a | b |
|---|---|
| 1 | 2 |

![b](figures/b.png)

**Figure 2.** The second.
<!-- END run:b -->
"""


def test_figures_and_tables_are_numbered_in_order_and_references_follow():
    text = make_report.number(NUMBERED)
    assert text.startswith('See [Figure 2](figures/b.png), [Table 1](#tab-x) and [Figure 1](figures/a.png).')
    assert '**Figure 1.** The first.' in text and '**Figure 2.** The second.' in text
    assert '<a id="tab-x"></a>**Table 1.** The table.' in text
    with pytest.raises(ValueError, match=r'\[Figure 3\]\(figures/c.png\) refers to no figure'):
        make_report.number(NUMBERED + '\n[Figure 3](figures/c.png)\n')
    with pytest.raises(ValueError, match='two figures are labelled figures/a.png'):
        make_report.number(NUMBERED + '\n![a](figures/a.png)\n\n**Figure 1.** Again.\n')


def test_figures_keep_their_numbers_wherever_they_are_drawn(tmp_path, results):
    report = tmp_path / 'report' / 'report.md'
    report.parent.mkdir()
    report.write_text('[Figure 1](figures/mlp_numpy/curves.png)\n\n<!-- BEGIN run:mlp_numpy -->\n'
                      '<!-- END run:mlp_numpy -->\n')
    make_report.main(['--results_dir', str(results), '--report', str(report), '--figures_dir',
                      str(tmp_path / 'elsewhere')])
    text = report.read_text()
    assert '(../elsewhere/mlp_numpy/curves.png)\n\n**Figure 1.**' in text
    assert text.startswith('[Figure 1](figures/mlp_numpy/curves.png)')


def test_a_caption_away_from_its_image_is_refused():
    with pytest.raises(ValueError, match='caption is not under its image'):
        make_report.number('![a](figures/a.png)\n\nText.\n\n**Figure 1.** Lost.\n')


def test_pandoc_gets_captioned_figures_and_tables_and_plain_references():
    typeset = make_report.for_pandoc(make_report.number(NUMBERED))
    assert typeset.startswith('See Figure 2, Table 1 and Figure 1.')
    assert '![**Figure 1:** The first.](figures/a.png)\n' in typeset  # "Figure N:", as NeurIPS captions
    assert '![**Figure 2:** The second.](figures/b.png)\n' in typeset and '<!--' not in typeset
    assert 'Table: **Table 1:** The table.\n\n| a | b |' in typeset
    long_caption = make_report.for_pandoc('![a](figures/a.png)\n\n**Figure 1.** One line\nand another.\n\nText.\n')
    assert long_caption == '![**Figure 1:** One line and another.](figures/a.png)\n\nText.\n'


def test_pdf_without_pandoc_says_in_one_line_what_to_install(tmp_path, monkeypatch):
    report = tmp_path / 'tiny.md'
    report.write_text('# Question 1\n')
    monkeypatch.setattr(make_report.shutil, 'which', lambda tool: None if tool == 'pandoc' else f'/usr/bin/{tool}')
    with pytest.raises(SystemExit) as error:
        make_report.main(['--pdf', '--report', str(report)])
    assert 'apt-get install pandoc texlive-latex-recommended' in str(error.value.code)
    assert '\n' not in str(error.value.code)


TINY = """---
title: "A tiny report"
abstract: |
  It has one of everything.
---

# Question 1 Mathematics

$$
\\frac{\\partial L}{\\partial W} = X^\\top G \\in \\mathbb{R}^{f \\times m}
$$

# Question 2 A figure and a table

[Figure 1](figures/line.png) and [Table 1](#tab-numbers) are referred to.

![line](figures/line.png)

**Figure 1.** A straight line, captioned.

<a id="tab-numbers"></a>**Table 1.** Two numbers, captioned.

| name | value |
|---|---|
| one | 1 |
"""


LONG_EMAIL = 'ada.augusta.king.countess.of.lovelace' + '@analytical-engine.department.example.org'  # 83 characters
NEEDS_LATEX = pytest.mark.skipif(
    not all(make_report.shutil.which(tool) for tool in ('pandoc', 'pdflatex', 'pdftotext')),
    reason='needs pandoc, pdflatex and pdftotext (' + make_report.INSTALL + ')')


@NEEDS_LATEX
def test_a_report_builds_as_pdf_with_its_headings_captions_and_author(tmp_path, monkeypatch):
    import subprocess

    import matplotlib.pyplot as plt
    report = tmp_path / 'tiny.md'
    report.write_text(TINY)
    (tmp_path / 'figures').mkdir()
    plt.figure(figsize=(3, 2))
    plt.plot([0, 1], [0, 1])
    plt.savefig(tmp_path / 'figures' / 'line.png', dpi=50)
    plt.close()
    make_report.main(['--pdf', '--report', str(report), '--results_dir', str(tmp_path), '--figures_dir',
                      str(tmp_path / 'figures'), '--pdf_dir', str(tmp_path / 'build'), '--author', 'Ada Lovelace',
                      '--email', LONG_EMAIL])
    pdf = tmp_path / 'build' / 'tiny.pdf'
    printed = ' '.join(subprocess.run(['pdftotext', str(pdf), '-'], capture_output=True, text=True).stdout.split())
    assert LONG_EMAIL in printed.replace(' ', '')  # broken over two lines, not refused as too wide
    for text in ('A tiny report', 'Ada Lovelace', 'Abstract', 'Question 1 Mathematics',
                 'Figure 1: A straight line, captioned.', 'Table 1: Two numbers, captioned.',
                 'Figure 1 and Table 1 are referred to.'):
        assert text in printed, text
    assert make_report.check_pdf(report, pdf) == 1
    monkeypatch.setitem(make_report.PAGE_BUDGET, 'tiny', 0)
    with pytest.raises(ValueError, match='has 1 pages; tiny.md may have at most 0'):
        make_report.check_pdf(report, pdf)
    report.write_text(TINY + '\n# Question 3 Not in the PDF\n')
    with pytest.raises(ValueError, match="lacks the heading 'Question 3 Not in the PDF'"):
        make_report.check_pdf(report, pdf)


def test_the_author_block_is_escaped_for_latex_and_needs_no_file_when_given(tmp_path):
    header = make_report.layout({'author': 'A\\B & C_D', 'email': 'a%b@c'})
    email = r'\allowbreak{}'.join(['a', r'\%', 'b', '@', 'c'])  # free to break after any character
    assert rf'\textbf{{A\textbackslash{{}}B \& C\_D}} \\ \texttt{{{email}}}' in header
    args = make_report.parse_args(['--authors', str(tmp_path / 'none.toml'), '--author', 'Ada'])
    assert make_report.author_block(args) == {'author': 'Ada'}
    (tmp_path / 'bad.toml').write_text('author = 3\n')
    with pytest.raises(SystemExit, match='author in .*bad.toml is 3; expected a string in quotes'):
        make_report.author_block(make_report.parse_args(['--authors', str(tmp_path / 'bad.toml')]))


def test_a_file_where_an_output_folder_goes_is_refused_before_any_report_is_rewritten(tmp_path):
    report = tmp_path / 'report.md'
    report.write_text('no blocks\n')
    (tmp_path / 'taken').write_text('')
    with pytest.raises(SystemExit, match='--figures_dir .*taken is a file; expected a folder'):
        make_report.main(['--report', str(report), '--figures_dir', str(tmp_path / 'taken')])
    # --pdf_dir is checked when --pdf builds PDFs (after the tools they need)
    assert make_report.parse_args(['--report', str(report), '--pdf_dir', str(tmp_path / 'taken')]).pdf_dir.is_file()
    if all(shutil.which(tool) for tool in ('pandoc', 'pdflatex', 'pdftotext', 'pdfinfo')):
        with pytest.raises(SystemExit, match='--pdf_dir .*taken is a file; expected a folder'):
            make_report.parse_args(['--report', str(report), '--pdf', '--pdf_dir', str(tmp_path / 'taken')])


def test_an_author_block_this_latex_cannot_set_is_refused_in_one_line_naming_what_would(tmp_path, monkeypatch):
    def refused(*flags):
        with pytest.raises(SystemExit) as error:
            make_report.author_block(make_report.parse_args(['--authors', str(tmp_path / 'none.toml'), *flags]))
        assert '\n' not in str(error.value.code)
        return str(error.value.code)

    assert "has 'Ω' (U+03A9), which the PDFs cannot set; expected Latin, Cyrillic or Chinese letters" in refused(
        '--author', 'Ωmega')
    assert 'expected Latin letters' in refused('--author', 'Ada', '--email', 'ада@example.org')
    for name in ('Ѣ Petrov', 'Ada\u2009Lovelace', 'Anneſ'):  # outside what T1 and T2A have: refused before LaTeX
        assert 'which the PDFs cannot set' in refused('--author', name)
    monkeypatch.setitem(make_report.SCRIPTS, 'Cyrillic', ('texlive-lang-cyrillic', ('t2aenc.def', 'no-such.def'), ''))
    assert refused('--author', 'Иван Петров') == ('error: the author block has Cyrillic letters, which this LaTeX '
                                                  'cannot set; install texlive-lang-cyrillic (apt-get install '
                                                  'texlive-lang-cyrillic, on Debian or Ubuntu)')


@NEEDS_LATEX
@pytest.mark.skipif(not make_report.shutil.which('kpsewhich') or not all(
    len(make_report.subprocess.run(['kpsewhich', *files], capture_output=True).stdout.split()) == len(files)
    for _, files, _ in make_report.SCRIPTS.values()),
                    reason='needs ' + ' and '.join(package for package, _, _ in make_report.SCRIPTS.values()))
def test_cyrillic_and_chinese_names_are_set_in_the_pdf(tmp_path):
    import subprocess
    report = tmp_path / 'tiny.md'
    report.write_text('---\ntitle: "A report"\n---\n\n# Question 1\n\nText.\n')
    author = {'author': 'Иван Петров and 王小明', 'affiliation': 'Московский университет, 清华大学'}
    make_report.build_pdf(report, tmp_path / 'tiny.pdf', author)
    printed = subprocess.run(['pdftotext', str(tmp_path / 'tiny.pdf'), '-'], capture_output=True, text=True).stdout
    assert 'Московский университет' in printed and '清华大学' in printed


@NEEDS_LATEX
def test_a_line_wider_than_the_text_block_fails_the_build_and_an_empty_page_is_measured(tmp_path):
    report = tmp_path / 'tiny.md'
    report.write_text('# Question 1\n\nText.\n\n`' + 'x' * 90 + '`\n')
    with pytest.raises(ValueError, match='1 lines stick out of the text block'):
        make_report.build_pdf(report, tmp_path / 'tiny.pdf', {'author': 'A'})
    report.write_text('# Question 1\n\nText.\n\n\\newpage\n\n# Question 2\n\nText.\n')
    make_report.build_pdf(report, tmp_path / 'tiny.pdf', {'author': 'A'})
    first, last = make_report.blank_shares(tmp_path / 'tiny.pdf')
    assert first > 0.9 and last > 0.9  # each page holds a heading and a line
    report.write_text('# Question 1\n\n' + 'Text that fills the page. ' * 700 + '\n\n# Question 2\n\nText.\n')
    make_report.build_pdf(report, tmp_path / 'tiny.pdf', {'author': 'A'})
    assert make_report.blank_shares(tmp_path / 'tiny.pdf')[0] < 0.1


PANDOC_TABLES = r"""\begin{longtable}[]{@{}ll@{}}
\toprule
c & d \\
\midrule
\endhead
3 & 4 \\
\bottomrule
\end{longtable}

Text between.

\begin{longtable}[]{@{}ll@{}}
\caption{\textbf{Table 1:} Cap.}\tabularnewline
\toprule
a & b \\
\midrule
\endfirsthead
\toprule
a & b \\
\midrule
\endhead
\texttt{-\/-epochs\ 3} & \(x \& y\) \\
\bottomrule
\end{longtable}

\begin{longtable}[]{@{}ll@{}}
\caption{\textbf{Table 2:} Only a head.}\tabularnewline
\toprule
e & f \\
\midrule
\endfirsthead
\toprule
e & f \\
\midrule
\endhead
\bottomrule
\end{longtable}
"""


def test_captioned_tables_become_whole_floats_and_nothing_else_changes():
    latex = make_report.floating_tables(PANDOC_TABLES)
    assert latex.startswith(PANDOC_TABLES[:PANDOC_TABLES.index('Text between.')])  # no caption: left as it was
    assert 'Text between.' in latex and latex.count(r'\begin{table}') == 2 and 'longtable}[]{@{}ll@{}}\n\\caption' \
        not in latex
    assert r'\caption{\textbf{Table 1:} Cap.}' in latex and r'\mbox{\texttt{-\/-epochs\ 3}} & \(x \& y\)' in latex
    assert 'e & f\\\\\n\\midrule\n\\bottomrule' in latex.replace(' \\\\', '\\\\')  # a table of its header alone
    with pytest.raises(ValueError, match='a captioned table in a form floating_tables does not know'):
        make_report.floating_tables(PANDOC_TABLES.replace(r'\endfirsthead', r'\endfirsthead{}'))


def test_a_recipe_lists_a_flag_its_reference_predates_only_when_it_is_set():
    changes = make_report.config_changes({'learning_rate': 0.1, 'nesterov': True, 'tta_shift': 0, 'augment': False,
                                          'dropout': 0.0, 'momentum': 0, 'optimizer': 'sgd'},
                                         {'learning_rate': 0.1, 'momentum': 0.9, 'optimizer': 'adam'})
    assert changes == [('nesterov', '—', 'True'), ('momentum', '0.9', '0'), ('optimizer', 'adam', 'sgd')]
