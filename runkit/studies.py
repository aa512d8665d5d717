"""A study (a script that trains several runs, each in a folder of its own under its --output_dir) kept whole
through a stop: its metrics.json records its flags before the first run and says 'completed' last, and a rerun with
the same flags keeps the runs that finished, continues the one a stop left with a checkpoint, replaces one that
keeps none, and writes the summary.

    with studies.open_study(args, folders) as plan:     # every folder checked and locked before the first run
        for folder in folders:
            try:
                metrics = plan[folder] or main([*flags, *studies.continuing(args, folder)])
            except studies.STOPS:
                studies.stopped(args, done, len(folders))
        studies.close_study(args.output_dir, summary)
"""
import contextlib
import io
import json
import os
import signal
import sys
import threading

import runkit
from runkit.model_files import run_record, run_status

# What ends a study's run early: a stop request during a run (runkit.Interrupted), or between two runs (Ctrl-C, and
# SIGTERM once open_study has made it raise the same).
STOPS = (runkit.Interrupted, KeyboardInterrupt)


def _as_json(value):
    """value as its metrics.json keeps it, and gives it back: a path as text."""
    return json.loads(json.dumps(value, default=str))


def _settings(args):
    """The flags that decide a study's runs: all but --overwrite, as JSON keeps them."""
    return _as_json({name: value for name, value in vars(args).items() if name != 'overwrite'})


def _write(output_dir, record):
    """The study's metrics.json, written whole or not at all."""
    runkit.write_atomically(os.path.join(str(output_dir), 'metrics.json'), lambda path: runkit.write_json(path, record))


@contextlib.contextmanager
def open_study(args, folders, output_dir=None, finished=('completed', 'diverged')):
    """Check and lock the study's folder (output_dir, or args.output_dir) and every run folder before the first run:
    {folder: the metrics of its run to keep, or None to train}. A run is kept when its status is in finished (a
    diverged run is a search's outcome, not a seed study's) and the study's folder holds a study with these flags
    that did not complete; another study there needs --overwrite. The study's metrics.json then says 'running'.
    Inside the context SIGTERM stops the study as Ctrl-C does (STOPS), between two runs as during one."""
    output_dir, settings = str(output_dir or args.output_dir), _settings(args)
    earlier = run_record(output_dir)
    continued = not args.overwrite and bool(earlier) and earlier.get('status') != 'completed' and \
        earlier.get('config') == settings
    if os.path.exists(os.path.join(output_dir, 'metrics.json')) and not (continued or args.overwrite):
        state = ('a study that completed' if earlier.get('status') == 'completed' else 'a study with other flags') \
            if earlier and 'config' in earlier and 'status' in earlier else 'a run'
        sys.exit(f'error: --output_dir {output_dir} already holds {state} (metrics.json); pass --overwrite to replace '
                 f'it, or name another folder' + ('' if state == 'a run' else '; a stopped study continues when it '
                                                  'is run again with its own flags'))
    os.makedirs(output_dir, exist_ok=True)
    runkit.lock_output_dir(output_dir)
    plan = {}
    for folder in map(str, folders):
        kept = continued and run_status(folder) in finished
        if kept or continued and os.path.exists(os.path.join(folder, 'checkpoint.pt')):
            runkit.lock_output_dir(folder)  # kept, or resumed by its run: held from now on all the same
        else:
            with contextlib.redirect_stderr(io.StringIO()):  # the run says so itself when it replaces one
                runkit.prepare_output_dir(folder, args.overwrite)
        plan[folder] = run_record(folder) if kept else None
    _write(output_dir, {'config': settings, 'status': 'running'})
    main = threading.current_thread() is threading.main_thread()
    previous = main and signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        yield plan
    finally:
        if main:
            signal.signal(signal.SIGTERM, previous or signal.SIG_DFL)


def continuing(args, folder):
    """The flags that make a run continue in folder what a stop left there: --resume when it keeps a checkpoint
    of a run that did not finish (and the study does not --overwrite)."""
    folder = str(folder)
    resumable = os.path.exists(os.path.join(folder, 'checkpoint.pt')) and run_status(folder) != 'completed'
    return ['--resume', folder] if resumable and not args.overwrite else []


def close_study(output_dir, study):
    """Write the study's summary into its metrics.json, 'completed' (a path in it as text)."""
    _write(output_dir, {**_as_json(study), 'status': 'completed'})


def stopped(args, done, planned, output_dir=None):
    """After a stop request ended the study (during a run or between two): record that, and end the program in one
    line that says how to continue it."""
    output_dir = str(output_dir or args.output_dir)
    _write(output_dir, {**(run_record(output_dir) or {}), 'status': 'interrupted'})
    again = 'the same command again, without --overwrite,' if args.overwrite else 'the same command again'
    raise runkit.Interrupted(f'interrupted after {done} of {planned} runs; run {again} to continue the study in '
                             f'{output_dir} (its finished runs are kept)')
