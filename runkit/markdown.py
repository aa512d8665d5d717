"""Markdown for the report and the studies' tables: accuracies, durations, flags as they are typed, how a run's
config differs from another's, and pipe tables."""
from runkit.model_files import LOGISTICS

# Config entries that are not a run's recipe: where or how fast it went (model_files.LOGISTICS), how often it was
# looked at, and what its data was (a data statement says that).
NOT_RECIPE = {*LOGISTICS, 'steps_per_epoch', 'eval_freq', 'dense_steps', 'data_fingerprint'}


def accuracy(value):
    return '—' if value is None else f'{value:.4f}'


def duration(seconds):
    return f'{seconds:.1f} s' if seconds < 120 else f'{seconds / 60:.1f} min'


def table(header, rows):
    """A Markdown pipe table. Each column's dashes count what it needs, its longest cell or header word (code counted
    wider, as typewriter type is), at most 50: pandoc sizes the columns of a wide table in that proportion."""
    def width(text):
        return round(len(text) * (1.3 if '`' in text else 1)) + 2  # and the space around it

    cells = [[str(cell) for cell in row] for row in rows]
    widths = [min(50, max([3] + [width(word) for word in name.split()] + [width(row[i]) for row in cells]))
              for i, name in enumerate(header)]
    lines = ['| ' + ' | '.join(header) + ' |', '|' + ''.join('-' * width + '|' for width in widths)]
    return '\n'.join(lines + ['| ' + ' | '.join(row) + ' |' for row in cells])


def flag_value(value):
    if value is None:
        return '—'
    if isinstance(value, list):
        return ','.join(str(v) for v in value) or "''"
    return f'{value:g}' if isinstance(value, float) else str(value)


def as_flag(flag, value):
    """A flag as it is typed: on/off flags bare, the others with their value."""
    if value in ('True', 'False'):
        return f'`--{flag}`' if value == 'True' else f'no `--{flag}`'
    return f'`--{flag} {value}`'


def config_changes(config, reference):
    """(flag, reference value, value) for every training flag that differs, in config's order. A flag the reference
    does not record (its run predates the flag) and config leaves off (0, False or None) is no change."""
    return [(key, flag_value(reference.get(key)), flag_value(value)) for key, value in config.items()
            if key not in NOT_RECIPE and reference.get(key) != value
            and (key in reference or value not in (0, False, None))]


def status(metrics, emphasis=''):
    """'diverged at step 12', 'interrupted', ...: how a run that did not complete ended."""
    step = f' at step {metrics["diverged_at_step"]}' if 'diverged_at_step' in metrics else ''
    return f'{emphasis}{metrics["status"]}{emphasis}{step}'
