"""A study (a script that trains several runs, each in a folder of its own under its --output_dir) kept whole
through a stop: its metrics.json records its flags before the first run and says 'completed' last, and a rerun with
the same flags keeps the runs that finished, continues the one a stop left with a checkpoint, replaces one that
keeps none, and writes the summary.

    plan = studies.open_study(args, folders)       # every folder checked and locked before the first run trains
    for folder in folders:
        metrics = plan[folder] or main([*flags, *studies.continuing(args, folder)])
    studies.close_study(args.output_dir, summary)  # or, on runkit.Interrupted, studies.stopped(args.output_dir, ...)
"""
import json
import os
import sys

import runkit
from runkit.model_files import open_regular, run_status

FINISHED = ('completed', 'diverged')  # a diverged run is a finished run of a search: its outcome is recorded


def _settings(args):
    """The flags that decide a study's runs: all but --overwrite."""
    return {name: value for name, value in vars(args).items() if name != 'overwrite'}


def _record(folder):
    """The study's metrics.json in folder as a dict; None when there is none or it cannot be read."""
    try:
        with open_regular(os.path.join(folder, 'metrics.json')) as file:
            record = json.load(file)
    except (OSError, ValueError, RecursionError):
        return None
    return record if isinstance(record, dict) else None


def open_study(args, folders, output_dir=None):
    """Check and lock the study's folder (output_dir, or args.output_dir) and every run folder before the first run:
    {folder: the metrics of its finished run to keep, or None to train}. Runs are kept only when the study's folder
    holds a study with these flags that did not complete; another study there needs --overwrite. The study's
    metrics.json then says 'running'."""
    output_dir = str(output_dir or args.output_dir)
    settings = json.loads(json.dumps(_settings(args), default=str))
    earlier = _record(output_dir)
    continued = not args.overwrite and bool(earlier) and earlier.get('status') != 'completed' and \
        earlier.get('config') == settings
    if os.path.exists(os.path.join(output_dir, 'metrics.json')) and not (continued or args.overwrite):
        state = 'a study that completed' if earlier and earlier.get('status') == 'completed' else 'a run'
        sys.exit(f'error: --output_dir {output_dir} already holds {state} (metrics.json); pass --overwrite to replace '
                 f'it, or name another folder' + ('' if state == 'a run' else '; a stopped study continues when it '
                                                  'is run again with its own flags'))
    os.makedirs(output_dir, exist_ok=True)
    runkit.lock_output_dir(output_dir)
    plan = {}
    for folder in map(str, folders):
        kept = continued and run_status(folder) in FINISHED
        if kept:
            runkit.lock_output_dir(folder)
        elif not (continued and os.path.exists(os.path.join(folder, 'checkpoint.pt'))):
            runkit.prepare_output_dir(folder, args.overwrite)
        plan[folder] = _record(folder) if kept else None
    runkit.write_atomically(os.path.join(output_dir, 'metrics.json'), lambda path: runkit.write_json(
        path, {'config': settings, 'status': 'running'}))
    return plan


def continuing(args, folder):
    """The flags that make a run continue in folder what a stop left there: --resume when it keeps a checkpoint
    of a run that did not finish (and the study does not --overwrite)."""
    folder = str(folder)
    resumable = os.path.exists(os.path.join(folder, 'checkpoint.pt')) and run_status(folder) not in FINISHED
    resumable = resumable and not args.overwrite
    return ['--resume', folder] if resumable else []


def close_study(output_dir, study):
    """Write the study's summary into its metrics.json, 'completed' (a path in it as text)."""
    study = {**json.loads(json.dumps(study, default=str)), 'status': 'completed'}
    runkit.write_atomically(os.path.join(str(output_dir), 'metrics.json'), lambda path: runkit.write_json(path, study))


def stopped(output_dir, done, planned):
    """After a stop request ended one of the runs: record that, and end the program in one line."""
    record = {**(_record(str(output_dir)) or {}), 'status': 'interrupted'}
    runkit.write_atomically(os.path.join(str(output_dir), 'metrics.json'),
                            lambda path: runkit.write_json(path, record))
    raise runkit.Interrupted(f'interrupted after {done} of {planned} runs; run the same command again to continue '
                             f'the study in {output_dir} (its finished runs are kept)')
