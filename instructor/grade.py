"""Grade submissions question by question with the project's own checks (instructor/test_graded.py).

Each question of the offering's rubric runs in a process of its own (sandboxed_pytest.py under `python -I -B`)
in a temporary folder that holds the submission's Python files and the grader's checks, never the submission's own
tests/ or conftest.py. The process has a wall-clock limit, memory and CPU limits and one thread, may not write
outside its folder, and may read only its folder, the Python installation and the system's folders, so that a
missing import, an endless loop, a huge allocation, an exit at import or a stray write costs at most that
question, with a one-line reason, and no run sees the project or another submission. This process alone writes
the results.
"""
import concurrent.futures
import ctypes
import importlib.util
import json
import os
import re
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import namedtuple

from tqdm import tqdm

from instructor import course

HERE = os.path.dirname(os.path.abspath(__file__))
CHECKS = os.path.join(HERE, 'test_graded.py')
RUNNER = os.path.join(HERE, 'sandboxed_pytest.py')
# memory_bytes limits what a run allocates (RLIMIT_DATA), not its address space, of which torch's libraries take 3 GiB
LIMITS = {'wall_seconds': 60, 'cpu_seconds': 60, 'memory_bytes': 4 << 30}

# one course.Check, whether it passed, why not; graded False when it could not be graded for a reason outside the
# submission (no space to copy it, a folder that cannot be made): never to be read as the submission's zero
Outcome = namedtuple('Outcome', 'check passed reason graded', defaults=(True,))
NOT_GRADED = 'not graded'
_UNCONFINED = []  # once the warning that writes are not confined has been given
# The runs going on (their pids): any other process the grader is left as their subreaper when a run ends (one that
# a submission started in a session of its own) is killed, however it changed its environment.
_CHILDREN, _CHILDREN_LOCK = set(), threading.Lock()
# Set when the grader is asked to stop (Ctrl-C, SIGTERM): no run starts, those going on are killed, and what they
# leave is not graded.
_STOPPING = threading.Event()
INTERRUPTED = f'{NOT_GRADED}: grading was interrupted'
_BEFORE = set()  # the grader's children when grading began, which are not the runs'
_PR_SET_CHILD_SUBREAPER = 36


def copy_submission(submission, offering, folder):
    """The submission's Python files in folder, laid out as they were: its top level, and the offering's face
    folders when it has them (a copy of this project's layout). Returns the folder the checks run in: the
    offering's own folder when the submission has it, else the top level (a template's flat layout)."""
    face = course.OFFERINGS[offering][0]
    submission = _unwrapped(os.path.realpath(submission))
    for sub in ['', 'runkit'] + ([face] if face else []):
        source = os.path.join(submission, sub)
        if not os.path.isdir(source) or os.path.islink(source):  # an upload's links are not followed out of it
            continue
        os.makedirs(os.path.join(folder, sub), exist_ok=True)
        for name in os.listdir(source):
            path = os.path.join(source, name)
            if name.endswith('.py') and name != 'conftest.py' and os.path.isfile(path) and not os.path.islink(path):
                shutil.copyfile(path, os.path.join(folder, sub, name))
    code = os.path.join(folder, face) if face and os.path.isdir(os.path.join(folder, face)) else folder
    shutil.copyfile(CHECKS, os.path.join(code, 'test_graded.py'))
    with open(os.path.join(folder, 'pytest.ini'), 'w') as ini:
        ini.write('[pytest]\n')
    return code


def _unwrapped(submission):
    """The folder that holds a submission's files: the submission, or the one folder it holds and nothing else (an
    upload that unzips to lastname_assignment1/)."""
    entries = [name for name in os.listdir(submission) if not name.startswith(('.', '__'))]
    inner = os.path.join(submission, entries[0]) if len(entries) == 1 else ''
    return inner if inner and os.path.isdir(inner) and not os.path.islink(inner) else submission


def run_checks(folder, code, offering, targets, limits=LIMITS):
    """Run pytest on targets (test files or node ids) in the sandbox, the checks importing from code; returns
    ({test: (passed, reason)} of the tests that reported, why the run as a whole fell short or '')."""
    read, write = os.pipe()
    env = {'PATH': os.environ.get('PATH', ''), 'HOME': folder, 'TMPDIR': folder, 'OMP_NUM_THREADS': '1',
           'OPENBLAS_NUM_THREADS': '1', 'MKL_NUM_THREADS': '1', 'PYTEST_DISABLE_PLUGIN_AUTOLOAD': '1',
           'COURSE_OFFERING': offering, 'COURSE_CODE': code, 'COURSE_SUBMISSION': folder, 'MPLBACKEND': 'Agg'}
    # the runner goes into the run's folder, so that nothing in its command line points at the project
    runner = os.path.join(folder, '.grader', os.path.basename(RUNNER))
    os.makedirs(os.path.dirname(runner), exist_ok=True)
    shutil.copyfile(RUNNER, runner)
    command = [sys.executable, '-I', '-B', runner, folder, str(write), str(limits['memory_bytes']),
               str(limits['cpu_seconds']), '--', '--rootdir', folder, '-c', os.path.join(folder, 'pytest.ini'),
               *targets]
    # stderr into a file of the grader's (the child cannot open it, only write to what it inherits), read at the end
    with tempfile.TemporaryFile() as stderr:
        with _CHILDREN_LOCK:  # a sweep of another thread's must not take it for an orphan
            if _STOPPING.is_set():
                raise InterruptedError(INTERRUPTED)
            process = subprocess.Popen(command, cwd=folder, env=env, pass_fds=[write], stdin=subprocess.DEVNULL,
                                       stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True)
            _CHILDREN.add(process.pid)
        os.close(write)
        try:
            messages, timed_out = _read_until(read, process, limits['wall_seconds'])
        finally:
            os.close(read)
            _kill_group(process)
        stderr.seek(max(0, stderr.seek(0, os.SEEK_END) - 4096))
        last = (stderr.read().decode(errors='replace').strip().splitlines() or [''])[-1]
    results, collected = {}, []
    for message in messages:
        # a test's outcome is its call's, unless its setup or teardown failed
        if 'test' in message and results.get(message['test'], (True, ''))[0]:
            results[message['test']] = (message['outcome'] == 'passed', message['reason'])
        if 'collect' in message:
            collected.append(message['reason'])
    if any(message.get('landlock') == 0 for message in messages) and not _UNCONFINED:
        _UNCONFINED.append(True)
        print("warning: this kernel has no Landlock: the submissions' writes and reads are not confined to their "
              "folders", file=sys.stderr)
    finished = [m for m in messages if 'finished' in m]
    sandbox = [m['sandbox'] for m in messages if 'sandbox' in m]
    if sandbox:
        return {}, f'{NOT_GRADED}: the sandbox could not be set up ({sandbox[0]})'
    if timed_out:
        return results, f'stopped after {limits["wall_seconds"]} s (an endless loop?)'
    if not finished and process.returncode == -signal.SIGXCPU:
        return results, f'used up its {limits["cpu_seconds"]} s of CPU time (an endless loop?)'
    if not finished:
        return results, (f'the process ended before its checks did (exit status {process.returncode}; os._exit, '
                         f'sys.exit or a crash?)' + (f': {last[:200]}' if last else ''))
    if not finished[-1]['intact']:
        return {}, "the submission changed pytest, the checks or numpy/torch; nothing it reported counts"
    if collected and not results:
        return results, f'the checks could not be collected: {collected[0]}'
    return results, ''


def _read_until(pipe, process, seconds):
    """The JSON messages the child sends down the pipe (a file descriptor) until it has exited and said it
    finished, or the pipe closes, or `seconds` pass (timed out: True)."""
    messages, buffer, deadline = [], '', time.monotonic() + seconds
    with selectors.DefaultSelector() as selector:
        selector.register(pipe, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            # a process the submission forked may hold the pipe open after the child has gone: look every 0.2 s
            if not selector.select(min(0.2, max(0.0, deadline - time.monotonic()))):
                if process.poll() is not None:
                    return messages, False
                continue
            chunk = os.read(pipe, 1 << 16).decode(errors='replace')
            if not chunk:
                return messages, False
            buffer += chunk
            *lines, buffer = buffer.split('\n')
            for line in lines:
                try:
                    messages.append(json.loads(line))
                except ValueError:  # not a message of the runner's
                    pass
    return messages, True


def _kill_group(process):
    """Kill the child and every process of its group, and every process the grader has been left (a submission's
    process that made a session of its own is an orphan of the grader, its subreaper), but its running children."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()
    with _CHILDREN_LOCK:
        _CHILDREN.discard(process.pid)
        for pid in _orphans():
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass


def _children():
    """The pids of this process's children (its runs, and what it has been handed as their subreaper)."""
    me, found = os.getpid(), set()
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            try:
                with open(f'/proc/{entry}/stat') as file:
                    parent = int(file.read().rsplit(')', 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if parent == me:
                found.add(int(entry))
    return found


def _orphans():
    """The grader's children that are not a run going on and were not its children before grading began: what a
    submission left behind, whatever its session or environment."""
    return sorted(_children() - _CHILDREN - _BEFORE)


def _become_subreaper():
    """Make this process the one that a run's orphans are handed to (Linux), so that none escapes by a session of its
    own."""
    ctypes.CDLL(None).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def grade_question(submission, offering, question, limits=LIMITS):
    """[Outcome] of one question's checks, run in a fresh temporary folder. The checks that reported keep their
    outcome when the run then fails (an endless loop in the last check costs that check); the others take the
    run's reason."""
    checks = course.questions(offering)[question]
    try:
        with tempfile.TemporaryDirectory(prefix='grading-') as folder:
            code = copy_submission(submission, offering, folder)
            checks_file = os.path.join(code, 'test_graded.py')
            results, failure = run_checks(folder, code, offering,
                                          [f'{checks_file}::{check.test}' for check in checks], limits)
    except OSError as error:  # no room to copy the submission, or a folder that cannot be made: not its fault
        reason = f'{NOT_GRADED}: {error.strerror or error}' + (f' ({error.filename})' if error.filename else '')
        return ungraded(checks, INTERRUPTED if _STOPPING.is_set() else printable(reason))
    if _STOPPING.is_set():  # its run was killed, or may have been, by the stop
        return ungraded(checks, INTERRUPTED)
    if failure.startswith(NOT_GRADED) or _disk_full(failure, results):  # the grader's trouble, not the submission's
        return ungraded(checks, printable(failure if failure.startswith(NOT_GRADED) else
                                          f'{NOT_GRADED}: the disk is full'))
    outcomes = []
    for check in checks:
        passed, reason = results.get(check.test, (False, failure or 'the check did not run'))
        missing = _missing_course_package(reason) if not passed else None
        if missing:
            outcomes.append(Outcome(check, False, f"{NOT_GRADED}: the course's environment has {missing}, this "
                                                  f"grader's Python does not (pip install -r "
                                                  f"instructor/requirements-course.txt)", graded=False))
        else:
            outcomes.append(Outcome(check, passed, '' if passed else printable(reason)))
    return outcomes


def ungraded(checks, reason):
    """[Outcome] of checks that could not be graded, for a reason (one that says so) outside the submission."""
    return [Outcome(check, False, reason, graded=False) for check in checks]


def _disk_full(failure, results):
    """Whether the run ran out of disk space: then any of its failures may be the disk's, not the submission's."""
    return any('No space left on device' in reason for reason in [failure] + [r for _, r in results.values()])


def _missing_course_package(reason):
    """The pip name of the course environment's package whose absence here the reason reports, or None."""
    match = re.search(r"No module named '([\w.]+)'", reason or '')
    name = match and match.group(1).split('.')[0]
    if name in course.COURSE_PACKAGES and importlib.util.find_spec(name) is None:
        return course.COURSE_PACKAGES[name]
    return None


def printable(text):
    """text with its control characters (a terminal's escape sequences among them) written as escapes, so that a
    submission's message reaches a terminal or a CSV as text."""
    return ''.join(c if c.isprintable() or c in '\t' else c.encode('unicode_escape').decode() for c in str(text))


def not_graded(outcomes):
    """The questions of outcomes that could not be graded, in order."""
    return list(dict.fromkeys(outcome.check.question for outcome in outcomes if not outcome.graded))


def grade(submissions, offering=course.DEFAULT, jobs=None, limits=LIMITS, progress=True, questions=None):
    """{submission: [Outcome]} for every check of the offering's rubric (or of the questions named), questions run
    in parallel across the cores (one per core by default)."""
    questions = questions or list(course.questions(offering))
    _become_subreaper()
    _STOPPING.clear()
    _BEFORE.clear()
    _BEFORE.update(_children())
    tasks = [(submission, question) for submission in submissions for question in questions]
    outcomes = {submission: {} for submission in submissions}
    on_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _interrupt) if on_main_thread else None
    try:
        with concurrent.futures.ThreadPoolExecutor(jobs or os.cpu_count()) as pool:
            futures = {}
            try:  # from the first submission: a run may start, and a stop request arrive, before the last is queued
                for submission, question in tasks:
                    futures[pool.submit(grade_question, submission, offering, question, limits)] = submission, question
                for future in tqdm(concurrent.futures.as_completed(futures), total=len(futures), desc='grading',
                                   unit='question', disable=not progress, file=sys.stderr):
                    submission, question = futures[future]
                    outcomes[submission][question] = future.result()
            except KeyboardInterrupt:  # Ctrl-C or SIGTERM: stop the runs, keep what was graded
                _stop(futures)
                print('interrupted: the questions not graded yet are marked "not graded"', file=sys.stderr)
    finally:
        if on_main_thread:
            signal.signal(signal.SIGTERM, previous)
    return {submission: [outcome for question in questions
                         for outcome in by_question.get(question)
                         or ungraded(course.questions(offering)[question], INTERRUPTED)]
            for submission, by_question in outcomes.items()}


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _stop(futures):
    """Cancel the questions not started, kill the runs going on and wait for their threads, which clean up."""
    _STOPPING.set()
    for future in futures:
        future.cancel()
    with _CHILDREN_LOCK:
        for pid in _CHILDREN:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    concurrent.futures.wait(futures)


def staff_tests(submission, offering, path, limits=LIMITS):
    """{test: (passed, reason)} of a course's own test file (unittest or pytest) run against the submission in the
    same sandbox, and why the run fell short ('' when it did not)."""
    with tempfile.TemporaryDirectory(prefix='grading-') as folder:
        code = copy_submission(submission, offering, folder)
        staff = os.path.join(code, 'test_staff_' + os.path.basename(path))
        shutil.copyfile(path, staff)
        return run_checks(folder, code, offering, [staff], limits)


def score(outcomes):
    return sum(outcome.check.points for outcome in outcomes if outcome.passed)


def question_table(outcomes):
    """Rows (question, points or 'not graded', max, the first failing check in one line)."""
    rows = {}
    for outcome in outcomes:
        question = rows.setdefault(outcome.check.question, [outcome.check.question, 0, 0, ''])
        question[2] += outcome.check.points
        if not outcome.graded:
            question[1], question[3] = NOT_GRADED, outcome.reason
        elif outcome.passed and question[1] != NOT_GRADED:
            question[1] += outcome.check.points
        elif not outcome.passed and not question[3]:
            question[3] = f'{outcome.check.name}: {outcome.reason}'
    return list(rows.values())


def gradescope(outcomes, staff=None):
    """Gradescope's results.json: the score and one entry per check (and per staff test, for no points)."""
    tests = [{'name': f'{o.check.question} {o.check.name}', 'score': o.check.points if o.passed else 0,
              'max_score': o.check.points, 'output': o.reason} for o in outcomes]
    tests += [{'name': f'staff {name}', 'score': 0, 'max_score': 0,
               'output': 'passed' if passed else printable(reason)} for name, (passed, reason) in (staff or {}).items()]
    results = {'score': score(outcomes), 'tests': tests}
    missing = not_graded(outcomes)
    if missing:  # the score is what was graded; the output says it is not the grade
        results['output'] = f'NOT GRADED: questions {", ".join(missing)} could not be graded; grade it again'
    return results
