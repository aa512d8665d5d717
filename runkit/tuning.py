"""The PyTorch MLP's tuning search: its stages, where each stage's run goes, and the table of what they reached.
experiments/tune_mlp_pytorch.py runs the stages; the table it writes is the report's. And what a search's runs
share: train_past_divergence."""
from pathlib import Path

import runkit
from runkit.markdown import accuracy, as_flag, config_changes, status, table

# (name, why, flags added to those of the stages before)
STAGES = [
    ('baseline', "the assignment's defaults: SGD at 2e-3, one hidden layer of 100, 1500 steps", []),
    ('adam_standardize', 'optimisation: Adam adapts the step per weight, and inputs standardised per channel '
     'give every weight a comparable scale', ['--optimizer', 'adam', '--learning_rate', '1e-3',
                                              '--preprocess', 'standardize', '--epochs', '{epochs}']),
    ('wide_deep', 'capacity: three hidden layers of 1024 units (Kaiming initialisation to keep the signal '
     'alive through them)', ['--dnn_hidden_units', '1024,1024,1024', '--init', 'kaiming']),
    ('batch_norm', 'conditioning: batch norm after every hidden layer steadies the deeper network and '
     'tolerates a larger learning rate', ['--batch_norm', '--learning_rate', '2e-3']),
    ('onecycle', 'schedule: warm up, then anneal the learning rate to settle into a minimum '
     '(one-cycle, cosine)', ['--lr_schedule', 'onecycle', '--warmup_steps', '{warmup}']),
    ('regularise', 'regularisation: decoupled weight decay (AdamW), dropout and label smoothing against '
     'the wide network memorising the training set',
     ['--optimizer', 'adamw', '--weight_decay', '0.05', '--dropout', '0.1', '--label_smoothing', '0.1']),
    ('augment', 'augmentation: random crops and flips show the network new images every epoch, the '
     'strongest regulariser for images', ['--augment']),
    ('longer', 'training length: with augmentation and regularisation the network no longer memorises the '
     'training set, so many more epochs pay off (the final configuration)',
     ['--epochs', '{final_epochs}', '--warmup_steps', '{final_warmup}', '--eval_freq', '1000']),
]
# The last stage is the configuration to keep if validation agrees; its run is the committed best run.
FINAL_STAGE = 'longer'
# Under the results folder: every stage's run in TUNING_DIR/<stage>, but the last stage's in FINAL_DIR.
TUNING_DIR, FINAL_DIR = 'mlp_pytorch_tuning', 'mlp_pytorch_best'


def train_past_divergence(script, config):
    """script.train(config, run) in the run folder config names, for a search that goes on when one of its runs
    diverges: that run's metrics (status 'diverged') are written and returned like any other's, and a line says
    so. A stop request ends the program in one line, as the script's own would."""
    with runkit.Run(config) as run:
        try:
            script.train(config, run)
        except runkit.Diverged as error:
            print(f'{error}; recorded as diverged in {run.folder}')
    return run.metrics


def stage_flags(upto, **values):
    """The flags of stage `upto` and all before it; later flags override earlier ones, as in argparse."""
    flags = ['--eval_freq', '250', '--validation_size', '5000']
    for _, _, added in STAGES[:upto + 1]:
        flags += [flag.format(**values) for flag in added]
    return flags


def stage_dir(results_dir, name):
    return results_dir / (FINAL_DIR if name == FINAL_STAGE else Path(TUNING_DIR, name))


def stage_folders(results_dir, tuning_dir=TUNING_DIR):
    """{stage: its run folder relative to results_dir} of the stages whose run is on disk (in tuning_dir, but for the
    last stage's, in FINAL_DIR), in the search's order (stages of no name in STAGES last)."""
    results_dir, order = Path(results_dir), [name for name, _, _ in STAGES]
    folders = {path.parent.name: Path(tuning_dir, path.parent.name)
               for path in (results_dir / tuning_dir).glob('*/metrics.json')}
    if (results_dir / FINAL_DIR / 'metrics.json').exists():
        folders[FINAL_STAGE] = Path(FINAL_DIR)
    return {name: folders[name]
            for name in sorted(folders, key=lambda name: (order.index(name) if name in order else len(order), name))}


def tuning_table(stages):
    """stages: [(stage, its run's metrics)] in the search's order -> the Markdown table of every stage's flags
    changed from the stage above, its final validation and test accuracy, and the stage chosen on validation
    accuracy."""
    rows, previous, best = [], None, None
    for stage, metrics in stages:
        completed = metrics['status'] == 'completed'
        # A stage that did not complete has no result: its last evaluations come from before it ended.
        validation = (metrics.get('validation_accuracy') or [None])[-1] if completed else None
        changes = ('the defaults' if previous is None else
                   ', '.join(as_flag(flag, new) for flag, _, new in config_changes(metrics['config'], previous)))
        rows.append((f'`{stage}`', changes, accuracy(validation) if completed else status(metrics),
                     accuracy(metrics['final_test_accuracy'] if completed else None)))
        if validation is not None and (best is None or validation > best[1]):
            best = (stage, validation)
        previous = metrics['config']
    text = table(['stage', 'flags changed from the stage above', 'validation accuracy', 'test accuracy'], rows)
    if best:
        return text + f'\n\nChosen on validation accuracy: **`{best[0]}`** ({accuracy(best[1])}).'
    return text + '\n\nChosen on validation accuracy: none, no stage completed.'
