"""Regenerate the report's figures and result blocks from the committed results.

    python report/make_report.py    # reads results/*/metrics.json, rewrites report/figures/ and report.md's blocks

report.md is written by hand except between marker pairs

    <!-- BEGIN kind:folder[:reference] -->
    ...
    <!-- END kind:folder[:reference] -->

whose contents this script replaces with what it computes from results/<folder>. A folder without its
metrics.json leaves its block saying that the run has not been made yet. The kinds:

    run:NAME[:DATASET]      one line of outcome, the data, and the loss/accuracy curves of a training run on
                            DATASET (cifar10 unless named; a run on other data is refused)
    face:NAME               a run through an offering's face: the test accuracy of the model chosen on validation,
                            the data and the curves
    recipe:NAME:REFERENCE   the flags in which run NAME differs from run REFERENCE
    schedule:NAME           the learning rate of run NAME against epoch
    tuning:NAME             one row per stage of the tuning search in NAME/<stage>/ and the stage chosen
    sweep:NAME              the learning-rate sweep's table, its best rate and its two figures
    sigmoid_vs_relu:NAME    the activation comparison's table and figure
    seeds:NAME              the seed study's spread of final test accuracies and its figure
    boundary:NAME[:NAME...] synth runs of the autodiff engine: outcome, gradient-blocking hidden units, and their
                            decision boundaries side by side
    activation_seeds:NAME   the autodiff sigmoid-against-ReLU seed study: spread per activation and step, figure
    analysis:NAME           evaluate.py's analysis of a run: accuracy, per-class precision and recall, confusions,
                            the confusion matrix, the most confidently misclassified images, the first layer
"""
import argparse
import json
import math
import os
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import datasets  # noqa: E402
import models  # noqa: E402
import plots  # noqa: E402
import tuning  # noqa: E402
import vu_data  # noqa: E402
from markdown import accuracy, config_changes, duration, status, table  # noqa: E402

BLOCK = re.compile(r'(<!-- BEGIN ([\w.:-]+) -->\n).*?(<!-- END \2 -->)', re.DOTALL)
OPTIMIZERS = {'sgd': 'SGD', 'adam': 'Adam', 'adamw': 'AdamW'}


class NotYetRun(Exception):
    """A block's results folder has no metrics.json yet."""


class Results:
    """Where the runs are read from and the figures written to, and links relative to the report."""

    def __init__(self, results_dir, figures_dir, report):
        self.results_dir, self.figures_dir, self.report_dir = Path(results_dir), Path(figures_dir), Path(report).parent

    def load(self, *parts, dataset='cifar10', name='metrics.json'):
        """results_dir/<parts>/<name> as a dict; NotYetRun when it does not exist. A run trained on another dataset
        than the block's (a fake_cifar10 smoke run in a CIFAR-10 block) is a ValueError; dataset=None checks nothing."""
        path = self.results_dir.joinpath(*parts, name)
        if not path.exists():
            raise NotYetRun('/'.join([*parts, name]))
        loaded = json.loads(path.read_text())
        trained_on = loaded.get('config', {}).get('dataset', dataset)
        if dataset is not None and trained_on != dataset:
            raise ValueError(f'results/{"/".join(parts)} trained on {trained_on}, not {dataset}: '
                             f'it does not belong in this block')
        return loaded

    def figures(self, folder):
        """The folder of a run's figures, created."""
        path = self.figures_dir / folder
        path.mkdir(parents=True, exist_ok=True)
        return path

    def image(self, path):
        """Markdown image of a figure, linked relative to the report."""
        link = Path(os.path.relpath(path, self.report_dir)).as_posix()
        return f'![{path.parent.name}: {path.stem.replace("_", " ")}]({link})'


def summary(metrics):
    """One line: final test accuracy, the best validation (or test) accuracy, what was trained, how long it took."""
    if not metrics['steps']:
        return f'No evaluation was recorded. Status: **{metrics["status"]}**.'
    config = metrics['config']
    schedule = config.get('lr_schedule', 'constant')
    line = f'Final test accuracy **{accuracy(metrics["final_test_accuracy"])}**'
    # The best of the test evaluations is selected on the test set: the best validation accuracy where there is one.
    validation = metrics.get('validation_accuracy')
    if validation:
        best = max(validation)
        line += (f', final validation accuracy {accuracy(validation[-1])} '
                 f'(best {accuracy(best)}, at step {metrics["steps"][validation.index(best)]})')
    else:
        best_step = metrics['steps'][metrics['test_accuracy'].index(metrics['best_test_accuracy'])]
        line += (f' (best {accuracy(metrics["best_test_accuracy"])}, at step {best_step}: '
                 f'selected on the test set)')
    optimizer = OPTIMIZERS.get(config.get('optimizer', 'sgd'), config.get('optimizer'))
    line += (f'; {metrics["steps"][-1]} steps of batch {config["batch_size"]}, '
             f'{optimizer} at learning rate {config["learning_rate"]:g}'
             + ('' if schedule == 'constant' else f' ({schedule} schedule)')
             + f', {duration(metrics["wall_time_s"])} of training.')
    if metrics['status'] != 'completed':
        line += f' Status: {status(metrics, "**")}.'
    return f'{line} {data_statement(config)}'


def data_statement(config):
    """Where a run's data came from, as its metrics.json records it."""
    dataset, fingerprint = config.get('dataset', 'cifar10'), config.get('data_fingerprint')
    if dataset not in datasets.DATA_FILES:  # a generated set
        return f'Data: {fingerprint or f"generated ({dataset})"}.'
    where = f'{dataset} from `{config.get("data_dir") or datasets.DEFAULT_DATA_DIRS[dataset]}`'
    return f'Data: {where}, ' + (f'fingerprint `{fingerprint}`.' if fingerprint else
                                 'fingerprint not recorded (the run predates fingerprints).')


def run_block(results, folder, dataset='cifar10'):
    metrics = results.load(folder, dataset=dataset)
    path = results.figures(folder) / 'curves.png'
    plots.plot_curves(metrics, path)
    return f'{summary(metrics)}\n\n{results.image(path)}'


def face_block(results, folder):
    """A run of an offering's face (epoch_training.train): the test accuracy of the model chosen on the validation
    split, what was trained, the data, the curves."""
    metrics = results.load(folder)
    path = results.figures(folder) / 'curves.png'
    plots.plot_curves(metrics, path)
    if metrics['status'] != 'completed':  # the loop's record, without the epochs' summary
        return f'Status: {status(metrics, "**")}.\n\n{results.image(path)}'
    config, validation = metrics['config'], metrics['val_accuracies']
    best = metrics['best_epoch']
    test = accuracy(metrics['test_metrics']['accuracy'])
    line = (f'Test accuracy of the model chosen on the validation split **{test}**'
            f' (its validation accuracy {accuracy(validation[best - 1])}, after epoch {best} of {len(validation)}); '
            f'{metrics["steps"][-1]} steps of batch {config["batch_size"]}, SGD at learning rate {config["lr"]:g}, '
            f'{duration(metrics["wall_time_s"])} of training, through `{config["offering"]}/{config["script"]}.py`.')
    # data_dir as the face was given it, in its folder: seen from the root here
    seen_from_root = {**config, 'data_dir': os.path.normpath(os.path.join(config['offering'], config['data_dir']))}
    return f'{line} {data_statement(seen_from_root)}\n\n{results.image(path)}'


def recipe_block(results, folder, reference):
    metrics, base = results.load(folder), results.load(reference)
    return table(['flag', f'`results/{reference}`', f'`results/{folder}`'],
                 [(f'`--{flag}`', old, new) for flag, old, new in config_changes(metrics['config'], base['config'])])


def schedule_block(results, folder):
    config = results.load(folder)['config']
    path = results.figures(folder) / 'lr_schedule.png'
    plots.plot_lr_schedule(config, path)
    epochs = (f' ({config["max_steps"] / config["steps_per_epoch"]:g} epochs)' if 'steps_per_epoch' in config
              else '')
    return (f'`{config["lr_schedule"]}` schedule: {config["warmup_steps"]} warm-up steps up to a peak of '
            f'{config["learning_rate"]:g}, {config["max_steps"]} steps{epochs} in all.\n\n{results.image(path)}')


def tuning_block(results, folder):
    stages = tuning.stage_folders(results.results_dir, folder)
    if not stages:
        raise NotYetRun(f'{folder}/<stage>/metrics.json')
    loaded = [(stage, results.load(*path.parts)) for stage, path in stages.items()]
    return f'{tuning.tuning_table(loaded)}\n\n{data_statement(loaded[-1][1]["config"])}'


def sweep_block(results, folder):
    sweep = results.load(folder)
    runs, config = sweep['runs'], sweep['config']
    rows = [(f'{run["learning_rate"]:g}', run['status'], accuracy(run['best_validation_accuracy']),
             f'{run["train_loss"][-1]:.4f}' if run['status'] == 'completed' else '—',
             run['diverged_at_step'] if run['status'] == 'diverged' else '—') for run in runs]
    text = (f'{len(runs)} learning rates, {config["epochs"]:g} epochs each, judged on '
            f'{config["validation_size"]} held-out training images. {data_statement(config)}\n\n'
            + table(['learning rate', 'status', 'best validation accuracy', 'final training loss (batch)',
                     'diverged at step'], rows))
    if sweep['best_learning_rate'] is not None:
        text += (f'\n\nBest: learning rate **{sweep["best_learning_rate"]:g}**, best validation accuracy '
                 f'**{accuracy(sweep["best_validation_accuracy"])}**.')
    directory = results.figures(folder)
    plots.plot_sweep(runs, directory)
    return text + ''.join(f'\n\n{results.image(directory / name)}' for name in
                          ('validation_accuracy_vs_learning_rate.png', 'training_loss_per_learning_rate.png'))


def sigmoid_vs_relu_block(results, folder):
    metrics = results.load(folder, dataset=None)
    config = metrics['config']
    rows = []
    for name, run in metrics['runs'].items():
        norms = run['weight_grad_norms'][0]
        # Growth per layer towards the output over the hidden-to-hidden layers 2..depth (geometric mean).
        growth = (norms[-2] / norms[1]) ** (1 / (len(norms) - 3)) if len(norms) > 3 else math.nan
        rows.append((name, accuracy(run['final_test_accuracy']), f'{run["train_loss"][-1]:.4f}',
                     f'{norms[0]:.2e}', f'{norms[-1] / norms[0]:.3g}', f'{growth:.2f}',
                     f'{run["hidden_spread_at_init"][-1]:.2e}'))
    path = results.figures(folder) / 'curves.png'
    plots.plot_sigmoid_vs_relu(metrics, path)
    return (f'{config["depth"]} hidden layers of {config["width"]} units, {config["num_points"]} training and '
            f'{config["num_points"]} test points, {config["max_steps"]} steps of SGD (batch {config["batch_size"]},'
            f' learning rate {config["learning_rate"]:g}). At step 0: the Frobenius norms of the weight gradients of '
            f'the whole-training-set loss, the geometric mean of their ratio from one hidden layer to the next '
            f'towards the output (growth per hidden layer), and the standard deviation of the last hidden layer\'s '
            f'activations across the training points, averaged over its units (spread).\n\n'
            + table(['activation', 'final test accuracy', 'final training loss',
                     '$\\lVert \\partial L/\\partial W^{(1)} \\rVert_F$', 'gradient norm, last layer / first layer',
                     'growth per hidden layer', 'spread of the last hidden layer'], rows)
            + f'\n\n{results.image(path)}')


def seeds_block(results, folder):
    study = results.load(folder)
    runs = study['runs']
    rows = [(statistic, *(accuracy(study[key][statistic]) for key in ('final_test_accuracy', 'best_test_accuracy')))
            for statistic in ('mean', 'std', 'min', 'max')]
    share = study['final_test_accuracy']['share_at_least_expectation']
    path = results.figures(folder) / 'final_test_accuracy_per_seed.png'
    plots.plot_seed_spread(study, path)
    config = study['config']
    changed = [f'`--{flag} {config[flag]}`' for flag, default in (('max_steps', None), ('dataset', 'cifar10'))
               if config.get(flag, default) != default]
    others = ', '.join(changed + ['every other flag at its default'])
    return (f'{len(runs)} seeds ({", ".join(str(run["seed"]) for run in runs)}), {others}. '
            f'{data_statement(config)}\n\n'
            + table(['over the seeds', 'final test accuracy', 'best test accuracy (selected on the test set)'], rows)
            + f'\n\n{round(share * len(runs))} of the {len(runs)} runs ({share:.0%}) end at or above the '
            f'assignment\'s {study["assignment_expectation"]:g}.'
            f'\n\n{results.image(path)}')


def tta_study_block(results, folder):
    study = results.load(folder)
    path = results.figures(folder) / 'validation_accuracy.png'
    plots.plot_tta_study(study, path)
    chosen = study['chosen']
    rows = [(f'{"`--tta`" if c["tta"] else "no `--tta`"}, `--tta_shift {c["tta_shift"]}`', c['views'],
             accuracy(c['validation_accuracy']), f'{c["validation_loss"]:.4f}')
            for c in study['candidates']]
    rows = [tuple(f'**{cell}**' for cell in row) if c == chosen else row for row, c in zip(rows, study['candidates'])]
    return (f'`{study["config"]["run_dir"]}` evaluated on its {study["num_validation"]} validation images; the rule, '
            f'fixed in advance: {study["rule"]}. {data_statement(study["config"]["run_config"])}\n\n'
            + table(['views', 'count', 'validation accuracy', 'validation loss'], rows)
            + f'\n\n{results.image(path)}')


def boundary_block(results, *folders):
    validation = vu_data.get_synth(one_hot=False)['validation']
    rows, panels = [], []
    for folder in folders:
        metrics, model_path = results.load(folder, dataset='synth'), results.results_dir / folder / 'model.npz'
        config = metrics['config']
        if not model_path.exists():
            raise NotYetRun(f'{folder}/model.npz')
        model, _ = models.load(model_path, 'autodiff')
        dead, units, share = models.blocked_hidden_units(model, validation.images)
        final_validation = metrics['validation_accuracy'][-1]
        rows.append((f'`{folder}`', config['activation'], f'{config["learning_rate"]:g}', accuracy(final_validation),
                     accuracy(metrics['final_test_accuracy']), f'{metrics["train_loss"][-1]:.4f}',
                     f'{dead} of {units}', f'{share:.1%}'))
        panels.append((f'{config["activation"]}, learning rate {config["learning_rate"]:g}: '
                       f'validation accuracy {final_validation:.4f}', model))
    path = results.figures(folders[0]) / 'decision_boundary.png'
    plots.plot_decision_boundaries(panels, validation.images, validation.labels, path)
    return (data_statement(metrics['config']) + '\n\n'
            + table(['run', 'activation', 'learning rate', 'final validation accuracy', 'final test accuracy',
                   'final training loss (batch)', 'hidden units blocking every validation point',
                   '(unit, point) pairs blocked'], rows) + f'\n\n{results.image(path)}')


def activation_seeds_block(results, folder):
    study = results.load(folder, dataset=None)
    rows = [(group['activation'], f'{group["learning_rate"]:g}',
             *(accuracy(group[key]) for key in ('mean', 'std', 'min', 'max')), f'{group["stuck"]} of {group["runs"]}',
             f'{group["all_units_dead"]} of {group["runs"]}') for group in study['groups']]
    path = results.figures(folder) / 'final_validation_accuracy.png'
    plots.plot_autodiff_seeds(study, path)
    seeds = study['config']['seeds']
    return (f'Seeds {", ".join(map(str, seeds))} for each activation and learning rate, every other flag at '
            f'`train_mlp_autodiff.py`\'s default; a run is stuck when its final validation accuracy is below '
            f'{study["stuck_below"]:g} (one class for every point scores {study["validation_majority_share"]:.4f} '
            f'or {1 - study["validation_majority_share"]:.4f}); its hidden units are all dead when every one of them '
            f'blocks the gradient at every validation point. {data_statement(study["runs"][0]["config"])}\n\n'
            + table(['activation', 'learning rate', 'mean final validation accuracy', 'std', 'min', 'max', 'stuck',
                     'hidden units all dead'], rows) + f'\n\n{results.image(path)}')


def analysis_block(results, folder):
    analysis, metrics = results.load(folder, name='analysis.json', dataset=None), results.load(folder)
    if analysis['data']['dataset'] != 'cifar10':
        raise ValueError(f'results/{folder}/analysis.json is of {analysis["data"]["dataset"]}, not cifar10: '
                         f'it does not belong in this block')
    views = analysis.get('views', {'as_in_the_run': True})
    # On other views than the run's the analysis has an accuracy of its own; the run's, which it recorded, still
    # tells whether it was made from the model that metrics.json describes.
    run_accuracy = analysis['test_accuracy'] if views['as_in_the_run'] else analysis.get('run_final_test_accuracy')
    if run_accuracy != metrics['final_test_accuracy']:
        raise ValueError(f'results/{folder}/analysis.json (of a run of test accuracy {run_accuracy}) is not of the '
                         f'run in metrics.json ({metrics["final_test_accuracy"]}); run python evaluate.py '
                         f'results/{folder} again')
    figures = results.figures(folder)
    plots.plot_confusion(analysis, figures / 'confusion_matrix.png',
                            f'{folder}: test accuracy {analysis["test_accuracy"]:.4f}')
    images = [figures / 'confusion_matrix.png']
    for name in ('misclassified.png', 'first_layer.png'):
        if (results.results_dir / folder / name).exists():
            shutil.copyfile(results.results_dir / folder / name, figures / name)
            images.append(figures / name)
    rows = [(name, accuracy(analysis['precision'][name]), accuracy(analysis['recall'][name]))
            for name in analysis['classes']]
    confusions = ', '.join(f'{pair["true"]} taken for {pair["predicted"]} ({pair["count"]})'
                           for pair in analysis['most_confused'])
    flags, averaged = '', ''
    if not views['as_in_the_run']:
        flags = f' {"--tta" if views["tta"] else "--no-tta"} --tta_shift {views["tta_shift"]}'
        averaged = f', averaged over {views["count"]} views of each image'
    return (f'`python evaluate.py results/{folder}{flags}`: test accuracy **{accuracy(analysis["test_accuracy"])}** '
            f'on {analysis["num_test"]} test images{averaged} (the run\'s final test accuracy: '
            f'{accuracy(analysis.get("run_final_test_accuracy"))}). Most frequent confusions: {confusions}.\n\n'
            + table(['class', 'precision', 'recall'], rows)
            + ''.join(f'\n\n{results.image(path)}' for path in images))


KINDS = {'run': run_block, 'face': face_block, 'recipe': recipe_block, 'schedule': schedule_block,
         'tuning': tuning_block, 'sweep': sweep_block, 'sigmoid_vs_relu': sigmoid_vs_relu_block, 'seeds': seeds_block,
         'tta_study': tta_study_block, 'boundary': boundary_block, 'activation_seeds': activation_seeds_block,
         'analysis': analysis_block}


def fill(text, results):
    """text with every marked block regenerated; (new text, names of the blocks whose run is missing)."""
    if len(BLOCK.findall(text)) != text.count('<!-- BEGIN '):
        raise ValueError('a <!-- BEGIN name --> marker has no matching <!-- END name -->')
    missing = []

    def replace(match):
        kind, *args = match[2].split(':')
        if kind not in KINDS:
            raise ValueError(f'unknown block {match[2]!r}; kinds: {", ".join(KINDS)}')
        try:
            content = KINDS[kind](results, *args)
        except NotYetRun as error:
            missing.append(match[2])
            content = f'*Not yet run:* `results/{error}` does not exist yet.'
        return f'{match[1]}{content}\n{match[3]}'

    return BLOCK.sub(replace, text), missing


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--results_dir', type=Path, default=ROOT / 'results')
    parser.add_argument('--report', type=Path, default=ROOT / 'report' / 'report.md')
    parser.add_argument('--figures_dir', type=Path, default=ROOT / 'report' / 'figures')
    args = parser.parse_args(argv)
    if not args.report.is_file():
        sys.exit(f'error: --report {args.report} does not exist; expected the report whose marked blocks to fill')
    try:
        text, missing = fill(args.report.read_text(), Results(args.results_dir, args.figures_dir, args.report))
    except ValueError as error:
        sys.exit(f'error: {error}')
    args.report.write_text(text)
    print(f'regenerated the blocks of {args.report} and the figures in {args.figures_dir}'
          + (f'; not yet run: {", ".join(missing)}' if missing else ''))
    return missing


if __name__ == '__main__':
    main()
