"""Regenerate the reports' figures and result blocks from the committed results, and build them as PDF.

    python report/make_report.py          # reads results/*/metrics.json, rewrites report/figures/ and the blocks
    python report/make_report.py --pdf    # the same, then report/build/<report>.pdf through pandoc and pdflatex

There is one report per course variant (uva2019.md, bgu2023.md, vu2021.md) and an appendix for what goes beyond
their questions (appendix.md). Each is written by hand except between marker pairs

    <!-- BEGIN kind:folder[:reference] -->
    ...
    <!-- END kind:folder[:reference] -->

whose contents this script replaces with what it computes from results/<folder>. A folder without its
metrics.json leaves its block saying that the run has not been made yet. The kinds:

    run:NAME[:DATASET]      one line of outcome, the data, and the loss/accuracy curves of a training run on
                            DATASET (cifar10 unless named; a run on other data is refused)
    face:NAME               a run of an offering folder's train(): the test accuracy of the model chosen on validation,
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

Every figure and table carries a caption, "**Figure N.**" or "**Table N.**", and the text refers to them as
[Figure N](path of its image) and [Table N](#label of its table): N is rewritten on every run, so that figures and
tables are numbered in order and every reference names the right one. The PDFs are single-column, in a layout
close to the NeurIPS style (Times, a 5.5-inch text block); their author block comes from report/authors.toml or
--author, --affiliation and --email.
"""
import argparse
import itertools
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import runkit
from runkit import datasets, models, plots, tuning
from runkit.markdown import accuracy, config_changes, duration, status, table

BLOCK = re.compile(r'(<!-- BEGIN ([\w.:-]+) -->\n).*?(<!-- END \2 -->)', re.DOTALL)
OPTIMIZERS = {'sgd': 'SGD', 'adam': 'Adam', 'adamw': 'AdamW'}
REPORT_DIR = ROOT / 'report'
REPORTS = ('uva2019', 'bgu2023', 'vu2021', 'appendix')
# A figure: its image alone in a paragraph, its caption the next; a table: its caption, behind the anchor it is
# referred to by; a reference: the number and the image or anchor it names.
FIGURE = re.compile(r'^!\[[^\]\n]*\]\((?P<label>[^)\s]+)\)\n\n\*\*Figure \d+\.\*\*', re.MULTILINE)
TABLE = re.compile(r'^<a id="(?P<label>[\w.-]+)"></a>\*\*Table \d+\.\*\*', re.MULTILINE)
REFERENCE = re.compile(r'\[(?P<kind>Figure|Table) \d+\]\((?P<label>[^)\s]+)\)')
# Any caption, wherever it stands: FIGURE and TABLE must account for every one.
CAPTION = re.compile(r'^(?:<a id="[^"]*"></a>)?\*\*(?P<kind>Figure|Table) (?P<number>\d+)\.\*\*', re.MULTILINE)
INSTALL = ('apt-get install pandoc texlive-latex-recommended texlive-fonts-recommended lmodern poppler-utils '
           '(on Debian or Ubuntu)')
HEADING = re.compile(r'^# (.+)$', re.MULTILINE)
# A report handed in stays within this many pages.
PAGE_BUDGET = {'uva2019': 6, 'bgu2023': 6, 'vu2021': 6}
# The text block of LAYOUT: its top edge and its height, in inches from the top of the page (its width is
# runkit.TEXT_WIDTH, the widest a figure is drawn).
TEXT_BLOCK = (1.0, 9.0)
# A page of a report but its last may be at most this share empty (blank_shares).
MOST_BLANK = 0.25


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

    def figure(self, path, caption):
        """A figure: its image, linked relative to the report, and its caption (numbered by `number`)."""
        link = Path(os.path.relpath(path, self.report_dir)).as_posix()
        return f'![{path.parent.name}: {path.stem.replace("_", " ")}]({link})\n\n**Figure 0.** {caption}'


def captioned(label, caption, text):
    """A table (text, Markdown) under its caption, referred to as [Table N](#label)."""
    return f'<a id="{label}"></a>**Table 0.** {caption}\n\n{text}'


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
    if not datasets.data_files(dataset):  # a generated set
        return f'Data: {fingerprint or f"generated ({dataset})"}.'
    where = f'{dataset} from `{config.get("data_dir") or datasets.DEFAULT_DATA_DIRS[dataset]}`'
    return f'Data: {where}, ' + (f'fingerprint `{fingerprint}`.' if fingerprint else
                                 'fingerprint not recorded.')


def curves_caption(metrics, folder):
    """The caption of a run's curves: which run, and what each curve is measured on."""
    held_out = ('its validation split and the test set' if metrics.get('validation_accuracy')
                or metrics.get('val_accuracies') else 'the test set')
    return (f'`results/{folder}`: the loss (left) and the accuracy (right) against the training step, on the '
            f'current training batch and on {held_out}.')


def run_block(results, folder, dataset='cifar10'):
    metrics = results.load(folder, dataset=dataset)
    path = results.figures(folder) / 'curves.png'
    runkit.plot_curves(metrics, path)
    return f'{summary(metrics)}\n\n{results.figure(path, curves_caption(metrics, folder))}'


def face_block(results, folder):
    """A run of an offering folder's train() (UvA 2021 on, BGU): the test accuracy of the model chosen on the validation
    split, what was trained, the data, the curves."""
    metrics = results.load(folder)
    path = results.figures(folder) / 'curves.png'
    runkit.plot_curves(metrics, path)
    if metrics['status'] != 'completed':  # the loop's record, without the epochs' summary
        return f'Status: {status(metrics, "**")}.\n\n{results.figure(path, curves_caption(metrics, folder))}'
    config, validation = metrics['config'], metrics['val_accuracies']
    best = metrics['best_epoch']
    test = accuracy(metrics['test_metrics']['accuracy'])
    line = (f'Test accuracy of the model chosen on the validation split **{test}**'
            f' (its validation accuracy {accuracy(validation[best - 1])}, after epoch {best} of {len(validation)}); '
            f'{metrics["steps"][-1]} steps of batch {config["batch_size"]}, SGD at learning rate {config["lr"]:g}, '
            f'{duration(metrics["wall_time_s"])} of training, through `{config["offering"]}/{config["script"]}.py`.')
    # data_dir as the folder's script was given it, in its folder: seen from the root here
    seen_from_root = {**config, 'data_dir': os.path.normpath(os.path.join(config['offering'], config['data_dir']))}
    return f'{line} {data_statement(seen_from_root)}\n\n{results.figure(path, curves_caption(metrics, folder))}'


def recipe_block(results, folder, reference):
    metrics, base = results.load(folder), results.load(reference)
    return captioned(f'recipe-{folder}', f'The flags in which `results/{folder}` differs from `results/{reference}`, '
                     f'as their `metrics.json` files record them.',
                     table(['flag', f'`results/{reference}`', f'`results/{folder}`'],
                           [(f'`--{flag}`', old, new)
                            for flag, old, new in config_changes(metrics['config'], base['config'])]))


def schedule_block(results, folder):
    config = results.load(folder)['config']
    path = results.figures(folder) / 'lr_schedule.png'
    plots.plot_lr_schedule(config, path)
    by_epoch = 'steps_per_epoch' in config  # as plot_lr_schedule draws it
    epochs = f' ({config["max_steps"] / config["steps_per_epoch"]:g} epochs)' if by_epoch else ''
    return (f'`{config["lr_schedule"]}` schedule: {config["warmup_steps"]} warm-up steps up to a peak of '
            f'{config["learning_rate"]:g}, {config["max_steps"]} steps{epochs} in all.\n\n'
            + results.figure(path, f'The learning rate of `results/{folder}` against the '
                             f'{"epoch" if by_epoch else "training step"}, drawn from its recorded '
                             f'configuration by the function its training used (`optimisers.lr_factor`).'))


def tuning_block(results, folder):
    stages = tuning.stage_folders(results.results_dir, folder)
    if not stages:
        raise NotYetRun(f'{folder}/<stage>/metrics.json')
    loaded = [(stage, results.load(*path.parts)) for stage, path in stages.items()]
    last = next(iter(reversed(stages.values()))).as_posix()
    caption = (f'The stages of the tuning search (`results/{folder}/<stage>/`, the last in `results/{last}/`), each on '
               f'top of the one above it: the flags it changes, and its final accuracy on the validation split '
               f'(which chooses) and on the test set (which only reports).')
    return captioned(f'tuning-{folder}', caption,
                     f'{tuning.tuning_table(loaded)}\n\n{data_statement(loaded[-1][1]["config"])}')


def sweep_block(results, folder):
    sweep = results.load(folder)
    runs, config = sweep['runs'], sweep['config']
    rows = [(f'{run["learning_rate"]:g}', run['status'], accuracy(run['best_validation_accuracy']),
             f'{run["train_loss"][-1]:.4f}' if run['status'] == 'completed' else '—',
             run['diverged_at_step'] if run['status'] == 'diverged' else '—') for run in runs]
    text = (f'{len(runs)} learning rates, {config["epochs"]:g} epochs each, judged on '
            f'{config["validation_size"]} held-out training images. {data_statement(config)}\n\n'
            + captioned(f'sweep-{folder}', f'Every rate of the sweep (`results/{folder}`): the best validation '
                        f'accuracy of its evaluations (for a diverged run, those before its loss stopped being '
                        f'finite), and its training loss on the last batch.',
                        table(['learning rate', 'status', 'best validation accuracy',
                               'final training loss (batch)', 'diverged at step'], rows)))
    if sweep['best_learning_rate'] is not None:
        text += (f'\n\nBest: learning rate **{sweep["best_learning_rate"]:g}**, best validation accuracy '
                 f'**{accuracy(sweep["best_validation_accuracy"])}**.')
    directory = results.figures(folder)
    plots.plot_sweep(runs, directory)
    captions = {'validation_accuracy_vs_learning_rate.png':
                'The best validation accuracy of every learning rate; a cross marks a rate whose loss diverged, at '
                'the best accuracy it reached before, with the step at which it diverged.',
                'training_loss_per_learning_rate.png':
                'The training loss (current batch) of every learning rate, recorded after each of the first 50 '
                'steps and every 50th after. Left, the first steps of every rate on a logarithmic loss axis, a '
                'diverged run dashed and marked (×) at its last finite loss; right, the whole run of the rates '
                'that converge.'}
    return text + ''.join(f'\n\n{results.figure(directory / name, caption)}' for name, caption in captions.items())


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
            + captioned(f'activations-{folder}', f'Both networks of `results/{folder}`: their outcome, and their '
                        f'gradient norms and last hidden layer\'s spread at step 0.',
                        table(['activation', 'final test accuracy', 'final training loss',
                               '$\\lVert \\partial L/\\partial W^{(1)} \\rVert_F$',
                               'gradient norm, last layer / first layer', 'growth per hidden layer',
                               'spread of the last hidden layer'], rows))
            + '\n\n' + results.figure(path, 'The sigmoid and the ReLU network from the same initial weights: training '
                                      'loss and test accuracy against step (top), the first layer\'s gradient norm '
                                      'during training and every layer\'s at step 0 (bottom).'))


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
            + captioned(f'seeds-{folder}', f'The spread of the test accuracy over the {len(runs)} seeds of '
                        f'`results/{folder}`.',
                        table(['over the seeds', 'final test accuracy',
                               'best test accuracy (selected on the test set)'], rows))
            + f'\n\n{round(share * len(runs))} of the {len(runs)} runs ({share:.0%}) end at or above the '
            f'assignment\'s {study["assignment_expectation"]:g}.\n\n'
            + results.figure(path, f'The test accuracy of every seed against the training step, and their mean '
                             f'(left); the final test accuracy of every seed against the assignment\'s '
                             f'{study["assignment_expectation"]:g} (right).'))


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
            + captioned(f'views-{folder}', f'Every candidate set of test-time views of `results/{folder}`, on the '
                        f'validation split; the chosen one in bold.',
                        table(['views', 'count', 'validation accuracy', 'validation loss'], rows))
            + '\n\n' + results.figure(path, 'The validation accuracy of every candidate set of views; the chosen one '
                                      'ringed.'))


def boundary_block(results, *folders):
    validation = datasets.vu2021('vu_data').get_synth(one_hot=False)['validation']
    rows, panels = [], []
    for folder in folders:
        metrics, model_path = results.load(folder, dataset='synth'), results.results_dir / folder / 'model.npz'
        config = metrics['config']
        if not model_path.exists():
            raise NotYetRun(f'{folder}/model.npz')
        model, _ = models.load(model_path, 'autodiff')
        dead, units, share = models.blocked_hidden_units(model, validation.images)
        final_validation = metrics['validation_accuracy'][-1]
        rows.append((config['activation'], f'{config["learning_rate"]:g}', accuracy(final_validation),
                     accuracy(metrics['final_test_accuracy']), f'{metrics["train_loss"][-1]:.4f}',
                     f'{dead} of {units}', f'{share:.1%}'))
        panels.append((f'{config["activation"]}, lr {config["learning_rate"]:g}', model))
    path = results.figures(folders[0]) / 'decision_boundary.png'
    plots.plot_decision_boundaries(panels, validation.images, validation.labels, path)
    names = ' and '.join(f'`results/{folder}`' for folder in folders)
    return (data_statement(metrics['config']) + '\n\n'
            + captioned(f'boundary-{folders[0]}', f'The outcome of {names}, a row each (final accuracies and '
                        f'training loss), the hidden units that block the gradient at every validation point, and '
                        f'the share of (unit, point) pairs blocked.',
                        table(['activation', 'learning rate', 'validation accuracy', 'test accuracy',
                               'training loss (batch)', 'units blocking every point', 'pairs blocked'], rows))
            + '\n\n' + results.figure(path, f'The decision boundaries of {names} on synth: the predicted probability '
                                      f'of class 1 (colour), the network\'s boundary (solid) and the true one '
                                      f'(dashed), over the first validation points.'))


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
            + captioned(f'seeds-{folder}', f'The final validation accuracy over the seeds of `results/{folder}`, '
                        f'per activation and learning rate, and how many runs ended stuck or with every hidden unit '
                        f'dead.',
                        table(['activation', 'learning rate', 'mean final validation accuracy', 'std', 'min', 'max',
                               'stuck', 'hidden units all dead'], rows))
            + '\n\n' + results.figure(path, 'The final validation accuracy of every run, one column per activation and '
                                      'learning rate; the grey lines are what one class for every point scores.'))


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
    plots.plot_confusion(analysis, figures / 'confusion_matrix.png')
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
    captions = {'confusion_matrix': f'The confusion matrix of `results/{folder}` on the test set: rows are the true '
                                    f'class, cells count the images and are shaded by their share of the row.',
                'misclassified': f'The test images `results/{folder}` got most confidently wrong: under each, its '
                                 f'true class, the class predicted, and the probability given to it.',
                'first_layer': f'The first-layer weights of the first 18 hidden units of `results/{folder}`, each '
                               f'unit\'s weights drawn as an image and stretched to their own range.'}
    return (f'`python evaluate.py results/{folder}{flags}`: test accuracy **{accuracy(analysis["test_accuracy"])}** '
            f'on {analysis["num_test"]} test images{averaged} (the run\'s final test accuracy: '
            f'{accuracy(analysis.get("run_final_test_accuracy"))}). Most frequent confusions: {confusions}.\n\n'
            + captioned(f'classes-{folder}', f'Precision and recall of `results/{folder}` per class, on the test set.',
                        table(['class', 'precision', 'recall'], rows))
            + ''.join(f'\n\n{results.figure(path, captions[path.stem])}' for path in images))


KINDS = {'run': run_block, 'face': face_block, 'recipe': recipe_block, 'schedule': schedule_block,
         'tuning': tuning_block, 'sweep': sweep_block, 'sigmoid_vs_relu': sigmoid_vs_relu_block, 'seeds': seeds_block,
         'tta_study': tta_study_block, 'boundary': boundary_block, 'activation_seeds': activation_seeds_block,
         'analysis': analysis_block}


def fill(text, results):
    """text with every marked block regenerated and its figures and tables numbered; (new text, names of the blocks
    whose run is missing)."""
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

    return number(BLOCK.sub(replace, text)), missing


def figure_key(link):
    """What names a figure: its image's run folder and file (mlp_numpy/curves.png), wherever --figures_dir puts it."""
    return '/'.join(Path(link).parts[-2:])


def number(text):
    """text with its figures and its tables each numbered 1, 2, ... in order, and every reference to one given its
    number. A reference to a figure or table the text does not have, two figures of one image, or a caption that is
    not under its image (or behind its table's anchor) is a ValueError."""
    numbers = {}
    for kind, pattern, key in (('Figure', FIGURE, figure_key), ('Table', TABLE, lambda label: '#' + label)):
        keys = [key(match['label']) for match in pattern.finditer(text)]
        for i, label in enumerate(keys):
            if label in keys[:i]:
                raise ValueError(f'two {kind.lower()}s are labelled {label}; expected one of each')
        if len(keys) != sum(caption['kind'] == kind for caption in CAPTION.finditer(text)):
            raise ValueError(f'a "**{kind} N.**" caption is not under its image or behind its table\'s anchor')
        numbers[kind] = {label: i for i, label in enumerate(keys, 1)}
        text = pattern.sub(lambda match: re.sub(rf'\*\*{kind} \d+\.\*\*$', f'**{kind} '
                                                f'{numbers[kind][key(match["label"])]}.**', match[0]), text)

    def refer(match):
        label = figure_key(match['label']) if match['kind'] == 'Figure' else match['label']
        if label not in numbers[match['kind']]:
            raise ValueError(f'{match[0]} refers to no {match["kind"].lower()} of the report; expected the image of '
                             f'a figure or the #label of a table it has')
        return f'[{match["kind"]} {numbers[match["kind"]][label]}]({match["label"]})'

    return REFERENCE.sub(refer, text)


def for_pandoc(text):
    """The report as pandoc should typeset it: each figure's caption under its image, each table's above it, and
    references as plain text (a printed page cannot follow a link). The block markers go: an image followed by one
    is not alone in its paragraph, and only an image alone in its paragraph becomes a figure."""
    text = re.sub(r'^<!-- (BEGIN|END) [\w.:-]+ -->\n', '', text, flags=re.MULTILINE)
    # A caption is the whole paragraph under the image, however many lines it takes; "Figure N:" as NeurIPS sets it.
    text = re.sub(r'^(!\[)[^\]\n]*(\]\([^)\s]+\))\n\n\*\*Figure (\d+)\.\*\* ((?:[^\n]+\n?)+)',
                  lambda match: f'{match[1]}**Figure {match[3]}:** {" ".join(match[4].split())}{match[2]}\n', text,
                  flags=re.MULTILINE)
    text = re.sub(r'^<a id="[\w.-]+"></a>\*\*Table (\d+)\.\*\* ', r'Table: **Table \1:** ', text, flags=re.MULTILINE)
    # The references in smaller type, as NeurIPS sets them.
    text = text.replace('\n# References {-}\n', '\n# References {-}\n\n\\small\\setlength{\\parskip}{2pt}\n')
    return REFERENCE.sub(lambda match: match[0][1:match[0].index(']')], text)


LONGTABLE = re.compile(r'\\begin\{longtable\}.*?\\end\{longtable\}', re.DOTALL)  # one table, up to its own end
# pandoc's captioned longtable (its rules with or without \noalign{}, as pandoc versions write them).
CAPTIONED = re.compile(r'\\begin\{longtable\}\[\]\{.*?\}\n\\caption\{(?P<caption>.*?)\}\\tabularnewline\n'
                       r'\\toprule(?:\\noalign\{\})?\n(?P<head>.*?)\\\\\n\\midrule(?:\\noalign\{\})?\n\\endfirsthead\n'
                       r'.*?\\endhead\n(?:.*?\\endlastfoot\n)?(?P<body>.*?)(?:\\bottomrule(?:\\noalign\{\})?\n)?'
                       r'\\end\{longtable\}$', re.DOTALL)
HEADER_CELL = re.compile(r'\\begin\{minipage\}\[b\]\{\\linewidth\}\\raggedright\n(.*?)\n\\end\{minipage\}', re.DOTALL)
# A column whose longest cell has more characters of LaTeX than this wraps (an X column); the others keep their
# natural width, and their headers stack their words, so that no header word is hyphenated.
WRAPPING = 40


def floating_tables(latex):
    """pandoc's LaTeX with every captioned table a float (caption above, kept whole, placed at the top or bottom of a
    page near where the text has it) instead of a longtable, which may split after any row and upsets the placing
    of the figures around it. Columns keep their natural width but a long one, which wraps in the width left; code in
    a cell (a flag and its value, a path) breaks only at its spaces, and only when it is long."""
    def stacked(words):  # a header's words in lines of at most 10 letters (or its longest word), never hyphenated
        if '\\(' in words:  # mathematics stays on one line
            return words
        lines = []
        for word in words.split():
            if lines and len(lines[-1]) + 1 + len(word) <= max(10, *map(len, words.split())):
                lines[-1] += ' ' + word
            else:
                lines.append(word)
        return r'\begin{tabular}[b]{@{}l@{}}' + r'\\'.join(lines) + r'\end{tabular}'

    def floating(table):
        match = CAPTIONED.match(table[0])
        if not match:
            if '\\caption{' in table[0]:  # a pandoc whose tables this does not know: said, not passed over
                raise ValueError('pandoc wrote a captioned table in a form floating_tables does not know')
            return table[0]
        names = re.split(r'(?<!\\)&', match['head'])
        rows = [row for row in match['body'].split('\\\\\n') if row.strip()]
        cells = [[cell.strip() for cell in re.split(r'(?<!\\)&', row)] for row in rows]
        wraps = [max([len(row[i]) for row in cells if i < len(row)], default=0) > WRAPPING for i in range(len(names))]
        columns = ''.join(r'>{\raggedright\arraybackslash}X' if wrap else 'l' for wrap in wraps)
        head = ' & '.join(HEADER_CELL.sub(lambda cell: cell[1].strip() if wrap else stacked(cell[1]), name.strip())
                          for wrap, name in zip(wraps, names))
        environment = ('tabularx}{\\linewidth', 'tabularx') if 'X' in columns else ('tabular', 'tabular')
        body = re.sub(r'\\texttt\{((?:[^{}]|\{[^{}]*\})*)\}', lambda code: ' '.join(
            rf'\mbox{{\texttt{{{word}}}}}' for word in ([code[1]] if len(code[1]) <= 48 else code[1].split('\\ '))),
            match['body'])
        return (f'\\begin{{table}}\n\\caption{{{match["caption"]}}}\\small\n\\begin{{{environment[0]}}}{{@{{}}{columns}'
                f'@{{}}}}\n\\toprule\n{head}\\\\\n\\midrule\n{body}\\bottomrule\n\\end{{{environment[1]}}}\n'
                f'\\end{{table}}')

    return LONGTABLE.sub(floating, latex)


def latex_escaped(text):
    special = {'\\': r'\textbackslash{}', '~': r'\textasciitilde{}', '^': r'\^{}',
               **{character: '\\' + character for character in '&%$#_{}'}}
    return ''.join(special.get(character, character) for character in str(text))


# The LaTeX preamble of the PDFs: a single column close to the NeurIPS style (Times at 10 points, a 5.5 by 9 inch text
# block on letter paper, the title between two rules, the author block centred, the abstract indented), written here
# so that no conference's style file is needed. Figures stay where the text puts them when they fit, and float to the
# top or bottom of a nearby page when they do not, so that no page is left half empty; tables float the same way,
# whole (floating_tables).
# AUTHOR is replaced by the author block, TEXT_BLOCK by the text block's size and place (TEXT_BLOCK, runkit.TEXT_WIDTH).
LAYOUT = r"""\usepackage[letterpaper,TEXT_BLOCK,headheight=12pt,headsep=25pt]{geometry}
\renewcommand{\ttdefault}{lmtt}
\usepackage[labelformat=empty,font=small,skip=6pt]{caption}
\makeatletter\def\fps@figure{htbp}\makeatother
\setcounter{topnumber}{3}
\renewcommand{\topfraction}{0.85}
\renewcommand{\bottomfraction}{0.6}
\renewcommand{\textfraction}{0.1}
\renewcommand{\floatpagefraction}{0.75}
\makeatletter\def\fps@table{htbp}\makeatother
\usepackage{tabularx}
\usepackage{etoolbox}
\AtBeginEnvironment{longtable}{\small}
\setlength{\parskip}{5.5pt}
\makeatletter\g@addto@macro\normalsize{\setlength{\abovedisplayskip}{6pt plus 2pt minus 2pt}%
  \setlength{\belowdisplayskip}{6pt plus 2pt minus 2pt}\setlength{\abovedisplayshortskip}{2pt plus 2pt}%
  \setlength{\belowdisplayshortskip}{4pt plus 2pt minus 2pt}}\makeatother
\setlength{\textfloatsep}{12pt plus 2pt minus 4pt}
\setlength{\intextsep}{10pt plus 2pt minus 2pt}
\setlength{\emergencystretch}{6em}
\renewcommand{\arraystretch}{1.15}
\setlength{\tabcolsep}{4pt}
\makeatletter
\renewcommand{\section}{\@startsection{section}{1}{\z@}{-2.0ex \@plus -0.5ex \@minus -0.2ex}{1.5ex \@plus 0.3ex}%
  {\large\bfseries\raggedright}}
\renewcommand{\subsection}{\@startsection{subsection}{2}{\z@}{-1.8ex \@plus -0.5ex \@minus -0.2ex}%
  {0.8ex \@plus 0.2ex}{\normalsize\bfseries\raggedright}}
\renewcommand{\@maketitle}{\vbox{\hsize\textwidth \linewidth\hsize \hrule height 4pt \vskip 0.25in
  \centering {\LARGE\bfseries \@title\par} \vskip 0.29in \hrule height 1pt \vskip 0.09in}
  \vskip 0.2in {\centering AUTHOR\par} \vskip 0.3in}
\makeatother
\renewenvironment{abstract}{\centerline{\large\bfseries Abstract}\vspace{0.5ex}%
  \begin{list}{}{\leftmargin 0.5in \rightmargin 0.5in}\item\relax}{\end{list}\vskip 1ex}
\DeclareUnicodeCharacter{2212}{\ensuremath{-}}
\DeclareUnicodeCharacter{2192}{\ensuremath{\rightarrow}}
\DeclareUnicodeCharacter{2248}{\ensuremath{\approx}}
""".replace('TEXT_BLOCK', f'textwidth={runkit.TEXT_WIDTH}in,textheight={TEXT_BLOCK[1]}in,top={TEXT_BLOCK[0]}in')


# The writing systems the author block may use beyond Latin: the Debian packages whose LaTeX sets them, a file of
# each that shows it installed, and what the preamble then needs (Cyrillic letters come through inputenc in T2A, in
# cm-super's outline fonts; Chinese characters are set by the CJK package in the Arphic Song font).
SCRIPTS = {'Cyrillic': ('texlive-lang-cyrillic cm-super-minimal', ('t2aenc.def', 'cm-super-t2a.enc'),
                        r'\usepackage[T2A,T1]{fontenc}'),
           'Chinese': ('latex-cjk-chinese', ('CJKutf8.sty',), r'\usepackage{CJKutf8}')}


# The letters of the Latin-1 and Latin Extended-A blocks that T1 has no glyph for, and the punctuation it has.
NOT_IN_T1 = {0x126, 0x127, 0x138, 0x13F, 0x140, 0x149, 0x166, 0x167}
PUNCTUATION = {0x2013, 0x2014, 0x2018, 0x2019, 0x201C, 0x201D, 0x2026}


def script(character):
    """The writing system of a character of the author block: 'Latin' (with its punctuation), 'Cyrillic' (Russian,
    Ukrainian, Belarusian, Serbian and more: what T2A has), 'Chinese' (the CJK ideographs, kana and full-width forms
    the Song font has), or None for one this LaTeX cannot set (each range tried with pdflatex)."""
    code = ord(character)
    if code < 0x17F and code not in NOT_IN_T1 and (code >= 0x20 and code != 0x7F) or code in PUNCTUATION:
        return 'Latin'
    if 0x400 <= code < 0x460 or code in (0x490, 0x491):
        return 'Cyrillic'
    if 0x3000 <= code < 0x3100 or 0x3400 <= code < 0xA000 or 0xFF00 <= code < 0xFFF0:
        return 'Chinese'
    return None


def author_text(text):
    """text of the author block for LaTeX: escaped, its runs of Cyrillic letters in the T2A encoding, its runs of
    Chinese characters in a CJK environment."""
    setting = {'Cyrillic': r'{{\fontencoding{{T2A}}\selectfont {}}}',
               'Chinese': r'\begin{{CJK}}{{UTF8}}{{gbsn}}{}\end{{CJK}}'}
    runs = [(name, ''.join(run)) for name, run in itertools.groupby(str(text), key=script)]
    return ''.join(setting[name].format(run) if name in setting else latex_escaped(run) for name, run in runs)


def layout(author):
    """LAYOUT with the author block: the name in bold, the affiliation, the e-mail in typewriter type (free to break
    after any character: an address may be longer than the line)."""
    email = r'\allowbreak{}'.join(latex_escaped(character) for character in author.get('email', ''))
    lines = ([rf'\textbf{{{author_text(author["author"])}}}']
             + ([author_text(author['affiliation'])] if author.get('affiliation') else [])
             + ([rf'\texttt{{{email}}}'] if email else []))
    used = {script(character) for value in author.values() for character in value}
    return ''.join(SCRIPTS[name][2] + '\n' for name in SCRIPTS if name in used) + \
        LAYOUT.replace('AUTHOR', r' \\ '.join(lines))


def author_block(args):
    """The PDFs' author, affiliation and e-mail: --authors (report/authors.toml), each flag given in its place; the
    file may be left out when --author is given."""
    author = {}
    if os.path.exists(args.authors) or args.author is None:
        try:
            with open(args.authors, 'rb') as file:
                author = tomllib.load(file)
        except (OSError, tomllib.TOMLDecodeError) as error:
            sys.exit(f'error: --authors {args.authors}: {error}; expected author = "...", affiliation and email')
    for key in ('author', 'affiliation', 'email'):
        if getattr(args, key) is not None:
            author[key] = getattr(args, key)
        if not isinstance(author.get(key, ''), str):
            sys.exit(f'error: {key} in {args.authors} is {author[key]!r}; expected a string in quotes')
    if not author.get('author'):
        sys.exit(f'error: no author: expected author = "..." in {args.authors}, or --author')
    for key, value in author.items():
        odd = next((c for c in value if script(c) is None or key == 'email' and script(c) != 'Latin'), None)
        if odd:
            sys.exit(f'error: the {key} {value!r} has {odd!r} (U+{ord(odd):04X}), which the PDFs cannot set; expected '
                     + ('Latin letters' if key == 'email' else 'Latin, Cyrillic or Chinese letters'))
    for name in sorted({script(c) for value in author.values() for c in value} & SCRIPTS.keys()):
        package, files, _ = SCRIPTS[name]
        if len(subprocess.run(['kpsewhich', *files], capture_output=True, text=True).stdout.split()) < len(files):
            sys.exit(f'error: the author block has {name} letters, which this LaTeX cannot set; install {package} '
                     f'(apt-get install {package}, on Debian or Ubuntu)')
    return author


# A line that sticks out of the text block by more than this many points (a display too wide, a table overprinting)
# is an error: on the printed page it runs into the margin.
OVERFULL_POINTS = 1


def build_pdf(report, pdf, author):
    """report (Markdown) typeset as pdf: pandoc writes LaTeX in the layout above (its tables made floats,
    floating_tables), pdflatex typesets it twice. A LaTeX error, a line more than OVERFULL_POINTS wider than the text
    block or a page taller than the paper is a ValueError."""
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        (scratch / 'layout.tex').write_text(layout(author))
        (scratch / 'report.md').write_text(for_pandoc(report.read_text()))
        written = subprocess.run(['pandoc', 'report.md', '--from', 'markdown', '--standalone', '--output',
                                  'report.tex', '--include-in-header', 'layout.tex', '--variable',
                                  'fontfamily=mathptmx', '--variable', 'fontsize=10pt', '--variable',
                                  'colorlinks=true'], cwd=scratch, capture_output=True, text=True)
        if written.returncode:
            raise ValueError(f'pandoc could not read {report}: {written.stderr.strip().splitlines()[-1]}')
        (scratch / 'report.tex').write_text(floating_tables((scratch / 'report.tex').read_text()))
        # From the report's folder, which its images are linked relative to; twice, for the cross-references.
        for _ in range(2):
            typeset = subprocess.run(['pdflatex', '-interaction=nonstopmode', '-halt-on-error', '-output-directory',
                                      str(scratch), str(scratch / 'report.tex')], cwd=report.parent,
                                     capture_output=True, text=True, errors='replace')
            if typeset.returncode:
                errors = [line for line in typeset.stdout.splitlines() if line.startswith('!')]
                raise ValueError(f'LaTeX could not typeset {report}: {errors[0] if errors else "see pdflatex"}')
        if 'has occurred while \\output is active' in typeset.stdout:  # a page taller than the paper: text lost
            raise ValueError(f'{report.name}: a page holds more than fits on it (LaTeX: overfull \\vbox in \\output)')
        overfull = [float(points) for points in
                    re.findall(r'^Overfull \\hbox \(([\d.]+)pt too wide\)', typeset.stdout, re.MULTILINE)]
        if max(overfull, default=0) > OVERFULL_POINTS:
            raise ValueError(f'{report.name}: {sum(points > OVERFULL_POINTS for points in overfull)} lines stick '
                             f'out of the text block, by up to {max(overfull):.0f} pt; break the widest displays')
        shutil.copyfile(scratch / 'report.pdf', pdf)


def check_pdf(report, pdf):
    """A ValueError unless every heading of report (Markdown) is in the text of pdf, pdf keeps its report's page
    budget and, for the reports of REPORTS, no page but the last is more than MOST_BLANK empty (blank_shares);
    returns the number of pages."""
    def words(text):  # as pdftotext gives text back: ligatures, curly quotes, hyphens and line breaks anywhere
        text = unicodedata.normalize('NFKC', text).translate(str.maketrans('‘’“”', "''\"\""))
        return re.sub(r'[\s\-]+', '', text)

    printed = words(subprocess.run(['pdftotext', str(pdf), '-'], capture_output=True, text=True, check=True).stdout)
    for heading in HEADING.findall(report.read_text()):
        heading = re.sub(r' \{[^}]*\}$', '', heading)  # pandoc's attributes: {-} leaves References unnumbered
        if words(heading.replace('`', '').replace('*', '')) not in printed:
            raise ValueError(f'{pdf} lacks the heading {heading!r} of {report.name}')
    info = subprocess.run(['pdfinfo', str(pdf)], capture_output=True, text=True, check=True).stdout
    pages = int(re.search(r'^Pages:\s+(\d+)', info, re.MULTILINE)[1])
    budget = PAGE_BUDGET.get(report.stem)
    if budget is not None and pages > budget:
        raise ValueError(f'{pdf} has {pages} pages; {report.name} may have at most {budget}')
    for page, blank in enumerate(blank_shares(pdf)[:-1] if report.stem in REPORTS else [], 1):
        if blank > MOST_BLANK:
            raise ValueError(f'{pdf}: page {page} is {blank:.0%} empty (at most {MOST_BLANK:.0%} but on the last '
                             f'page); let its figures float, or move text')
    return pages


def blank_shares(pdf, dpi=24):
    """For every page of pdf, the share of the text block's height in its tallest stretch with nothing printed
    across the whole width: the gap a float that did not fit leaves, or the end of a page cut short."""
    with tempfile.TemporaryDirectory() as scratch:
        subprocess.run(['pdftoppm', '-r', str(dpi), '-gray', str(pdf), os.path.join(scratch, 'page')], check=True)
        import numpy as np
        from PIL import Image
        shares = []
        for path in sorted(Path(scratch).glob('page*.pgm')):
            pixels = np.asarray(Image.open(path))
            top, height = round(TEXT_BLOCK[0] * dpi), round(TEXT_BLOCK[1] * dpi)
            printed = (pixels[top:top + height] < 200).any(axis=1)
            longest = run = 0
            for row in printed:
                run = 0 if row else run + 1
                longest = max(longest, run)
            shares.append(longest / height)
    return shares


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--results_dir', type=Path, default=ROOT / 'results')
    parser.add_argument('--report', type=Path, nargs='+', default=[REPORT_DIR / f'{name}.md' for name in REPORTS],
                        help='the reports to regenerate (default: every one in report/)')
    parser.add_argument('--figures_dir', type=Path, default=REPORT_DIR / 'figures')
    parser.add_argument('--pdf', action='store_true', help='then build each report as PDF into --pdf_dir')
    parser.add_argument('--pdf_dir', type=Path, default=REPORT_DIR / 'build')
    parser.add_argument('--authors', type=Path, default=REPORT_DIR / 'authors.toml',
                        help="the PDFs' author block: author, affiliation and email")
    for key in ('author', 'affiliation', 'email'):
        parser.add_argument(f'--{key}', default=None, help=f"the PDFs' {key} (default: from --authors)")
    args = parser.parse_args(argv)
    for report in args.report:
        if not report.is_file():
            sys.exit(f'error: --report {report} does not exist; expected a report whose marked blocks to fill')
    if args.pdf and not all(shutil.which(tool) for tool in ('pandoc', 'pdflatex', 'pdftotext', 'pdfinfo', 'pdftoppm')):
        sys.exit(f'error: --pdf needs pandoc, pdflatex, pdftotext, pdfinfo and pdftoppm; install them: {INSTALL}')
    for flag, folder in (('--pdf_dir', args.pdf_dir if args.pdf else None), ('--figures_dir', args.figures_dir)):
        # checked before any report is rewritten: a file where a folder goes is a one-line error, not a traceback
        if folder is not None and folder.exists() and not folder.is_dir():
            sys.exit(f'error: {flag} {folder} is a file; expected a folder (made when missing)')
    return args


def main(argv=None):
    args = parse_args(argv)
    author = author_block(args) if args.pdf else None
    missing = []
    for report in args.report:
        try:
            text, absent = fill(report.read_text(), Results(args.results_dir, args.figures_dir, report))
        except ValueError as error:
            sys.exit(f'error: {report.name}: {error}')
        report.write_text(text)
        missing += absent
        print(f'regenerated the blocks of {report}' + (f'; not yet run: {", ".join(absent)}' if absent else ''))
        if args.pdf:
            args.pdf_dir.mkdir(parents=True, exist_ok=True)
            pdf = args.pdf_dir / f'{report.stem}.pdf'
            try:
                build_pdf(report, pdf, author)
                pages = check_pdf(report, pdf)
            except ValueError as error:
                sys.exit(f'error: {error}')
            print(f'built {pdf}: {pages} pages, every heading in its text')
    print(f'the figures are in {args.figures_dir}')
    return missing


if __name__ == '__main__':
    main()
