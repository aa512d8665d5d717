"""python -m instructor grade never reports as a zero what it could not grade, checks its outputs before any grading,
and writes what a submission says (its messages, its name) as text."""
import csv
import errno
import json
import os

import pytest

from instructor import __main__ as cli
from instructor import grade


def test_a_submission_that_could_not_be_copied_is_not_graded_not_zero_and_the_command_fails(tmp_path, capsys,
                                                                                         monkeypatch):
    (tmp_path / 'doe').mkdir()
    (tmp_path / 'doe' / 'autodiff.py').write_text('')

    def full_disk(*args):
        raise OSError(errno.ENOSPC, 'No space left on device', 'grading-x/autodiff.py')
    monkeypatch.setattr(grade, 'copy_submission', full_disk)
    with pytest.raises(SystemExit) as exit:
        cli.main(['grade', str(tmp_path / 'doe'), '--offering', 'vu2021', '--json', str(tmp_path / 'r.json'),
                  '--csv', str(tmp_path / 'r.csv')])
    assert 'could not be graded in full' in str(exit.value) and str(tmp_path / 'doe') in str(exit.value)
    out = capsys.readouterr().out
    assert 'NOT GRADED: questions Q9 could not be graded' in out and 'not graded: No space left on device' in out
    results = json.loads((tmp_path / 'r.json').read_text())
    assert results['output'].startswith('NOT GRADED') and results['score'] == 0
    rows = list(csv.reader(open(tmp_path / 'r.csv')))
    assert rows[1][1] == 'not graded' and set(rows[1][3:]) == {'not graded'}


def test_outputs_that_cannot_be_written_end_the_command_before_any_grading(tmp_path, monkeypatch):
    (tmp_path / 'doe').mkdir()
    monkeypatch.setattr(grade, 'grade', lambda *args, **kwargs: pytest.fail('graded before checking the outputs'))
    for flag, path in [('--csv', tmp_path / 'missing' / 'r.csv'), ('--json', tmp_path),
                       ('--csv', tmp_path / 'doe')]:
        with pytest.raises(SystemExit, match=f'{flag} .*(cannot be written|is a folder)'):
            cli.main(['grade', str(tmp_path / 'doe'), flag, str(path)])


def test_a_submissions_message_and_name_reach_the_terminal_and_the_csv_as_text():
    assert grade.printable('failed \x1b[2J\x1b[31mred\x07') == 'failed \\x1b[2J\\x1b[31mred\\x07'
    assert grade.printable('m\udcfcller é') == 'm\\udcfcller é'  # a non-UTF-8 name, as os.fsdecode gives it


def test_a_non_utf8_submission_name_is_graded_and_written(tmp_path, capsys):
    folder = os.path.join(os.fsencode(tmp_path), b'm\xfcller')
    os.mkdir(folder)
    with open(os.path.join(folder, b'autodiff.py'), 'w') as file:
        file.write('')
    cli.main(['grade', os.fsdecode(folder), '--offering', 'vu2021', '--csv', str(tmp_path / 'r.csv')])  # no ReLU
    assert 'm\\udcfcller: 0 of 10' in capsys.readouterr().out
    assert list(csv.reader(open(tmp_path / 'r.csv')))[1][:2] == [os.path.join(str(tmp_path), 'm\\udcfcller'), '0']


def test_an_upload_of_symlinks_gets_nothing_it_did_not_write(tmp_path):
    """A folder holding one link to the project, or links to its files and folders, is graded as empty."""
    from instructor import course
    (tmp_path / 'one_link').mkdir()
    (tmp_path / 'one_link' / 'lastname_assignment1').symlink_to(course.ROOT)
    (tmp_path / 'links').mkdir()
    (tmp_path / 'links' / 'vu2021').symlink_to(os.path.join(course.ROOT, 'vu2021'))
    (tmp_path / 'links' / 'autodiff.py').symlink_to(os.path.join(course.ROOT, 'vu2021', 'autodiff.py'))
    graded = grade.grade([str(tmp_path / 'one_link'), str(tmp_path / 'links')], 'vu2021', progress=False)
    for outcomes in graded.values():
        assert grade.score(outcomes) == 0 and all('No module named' in o.reason for o in outcomes)


@pytest.mark.parametrize('signal_name', ['SIGTERM', 'SIGINT'])
def test_a_stopped_grader_ends_its_runs_leaves_no_folder_and_writes_what_it_graded_as_partial(tmp_path, signal_name):
    import signal
    import subprocess
    import sys
    import time

    from instructor import course
    (tmp_path / 'slow').mkdir()
    (tmp_path / 'slow' / 'autodiff.py').write_text('import time\ntime.sleep(60)\n')
    temporary = tmp_path / 'tmp'
    temporary.mkdir()
    process = subprocess.Popen([sys.executable, '-m', 'instructor', 'grade', str(tmp_path / 'slow'), '--offering',
                                'vu2021', '--json', str(tmp_path / 'r.json')], cwd=course.ROOT,
                               env={**os.environ, 'TMPDIR': str(temporary)}, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while not list(temporary.glob('grading-*/.grader')) and time.monotonic() < deadline:  # a run has started
        time.sleep(0.05)
    started = time.monotonic()
    process.send_signal(getattr(signal, signal_name))
    out, err = process.communicate(timeout=20)
    assert time.monotonic() - started < 5 and process.returncode != 0
    assert 'grade them again' in err and 'NOT GRADED' in out
    assert json.loads((tmp_path / 'r.json').read_text())['output'].startswith('NOT GRADED')
    assert not list(temporary.iterdir())  # the run's folder is gone
    left = [pid for pid in os.listdir('/proc') if pid.isdigit() and _cmdline_has(pid, str(temporary))]
    assert not left


def _cmdline_has(pid, text):
    try:
        with open(f'/proc/{pid}/cmdline', 'rb') as file:
            return text.encode() in file.read()
    except OSError:
        return False


def test_a_submission_importing_a_package_of_the_courses_environment_the_grader_lacks_is_not_graded(tmp_path):
    import importlib.util

    from instructor import course
    missing = next((name for name in course.COURSE_PACKAGES if importlib.util.find_spec(name) is None), None)
    if missing is None:
        pytest.skip("every package of the course's environments is installed here")
    (tmp_path / 'doe').mkdir()
    (tmp_path / 'doe' / 'autodiff.py').write_text(f'import {missing}\n')
    (tmp_path / 'nobody').mkdir()
    (tmp_path / 'nobody' / 'autodiff.py').write_text('import not_a_package_of_any_course\n')
    graded = grade.grade([str(tmp_path / 'doe'), str(tmp_path / 'nobody')], 'vu2021', progress=False)
    assert all(not o.graded and course.COURSE_PACKAGES[missing] in o.reason for o in graded[str(tmp_path / 'doe')])
    assert all(o.graded and 'No module named' in o.reason for o in graded[str(tmp_path / 'nobody')])  # its own zero
    with open(os.path.join(course.ROOT, 'instructor', 'requirements-course.txt')) as file:
        assert set(course.COURSE_PACKAGES.values()) <= {line.strip() for line in file if line.strip()[:1].isalpha()}


def test_a_graded_run_reads_neither_the_project_nor_the_other_runs(tmp_path):
    """Landlock's read rights: a submission that copies the reference solution from the project (found by its path,
    or through its run's command line), or looks into the folder of the runs beside it, finds nothing."""
    from instructor import course
    reads = {
        'project': f"exec(open({os.path.join(course.ROOT, 'vu2021', 'autodiff.py')!r}).read())\n",
        'argv': "import os, sys\nroot = os.path.dirname(os.path.dirname(os.path.realpath(sys.argv[0])))\n"
                "exec(open(os.path.join(root, 'vu2021', 'autodiff.py')).read())\n",
        'neighbours': "import os\nprint(os.listdir(os.path.dirname(os.getcwd())))\n",
    }
    folders = {}
    for name, text in reads.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / 'autodiff.py').write_text(text)
        folders[name] = str(tmp_path / name)
    from instructor.sandboxed_pytest import landlock_abi
    if not landlock_abi():
        pytest.skip('this kernel has no Landlock: reads are not confined')
    graded = grade.grade(list(folders.values()), 'vu2021', progress=False)
    for name, folder in folders.items():
        assert grade.score(graded[folder]) == 0, name
        assert all(('PermissionError' in o.reason or 'FileNotFoundError' in o.reason) for o in graded[folder]), name


def test_a_sandbox_that_cannot_be_set_up_or_a_full_disk_is_not_a_zero(tmp_path, monkeypatch):
    """The runner reports a failed sandbox down the pipe; a run whose failures include a full disk is the disk's."""
    from instructor import sandboxed_pytest
    (tmp_path / 'doe').mkdir()
    (tmp_path / 'doe' / 'autodiff.py').write_text('')
    messages = []
    monkeypatch.setattr(sandboxed_pytest, 'confine', lambda folder: (_ for _ in ()).throw(
        OSError(1, 'landlock_restrict_self failed')))
    monkeypatch.setattr(sandboxed_pytest, 'limit', lambda memory, cpu: None)
    read, write = os.pipe()
    sandboxed_pytest.main([str(tmp_path), str(write), '0', '0', '--'])
    messages = [json.loads(line) for line in os.fdopen(read).read().splitlines()]
    assert messages == [{'sandbox': 'PermissionError: [Errno 1] landlock_restrict_self failed'}]

    monkeypatch.setattr(grade, 'run_checks', lambda *args: ({}, 'not graded: the sandbox could not be set up (...)'))
    outcomes = grade.grade_question(str(tmp_path / 'doe'), 'vu2021', 'Q9')
    assert all(not o.graded and 'sandbox could not be set up' in o.reason for o in outcomes)
    monkeypatch.setattr(grade, 'run_checks', lambda *args: (
        {'test_relu_op_forward': (False, "OSError: [Errno 28] No space left on device: 'x'")}, ''))
    outcomes = grade.grade_question(str(tmp_path / 'doe'), 'vu2021', 'Q9')
    assert all(not o.graded and o.reason == 'not graded: the disk is full' for o in outcomes)


def test_the_memory_limit_counts_what_a_run_allocates_not_the_address_space_torch_maps(tmp_path):
    """The course's own tests (UvA 2020's gradcheck of the layer norm) allocate a few hundred MB after importing
    torch, whose libraries map 3 GiB of address space: a limit on the address space failed them; a 20 GB
    allocation still fails (tests/test_instructor_grade.py)."""
    (tmp_path / 'doe').mkdir()
    (tmp_path / 'doe' / 'autodiff.py').write_text('')
    staff = tmp_path / 'staff.py'
    staff.write_text('import torch\n\n\ndef test_a_large_allocation_after_torch():\n'
                     '    assert torch.empty(150_000_000, dtype=torch.float64).numel() == 150_000_000\n')
    tests, failure = grade.staff_tests(str(tmp_path / 'doe'), 'vu2021', str(staff))
    assert failure == '' and tests['test_a_large_allocation_after_torch'][0]


def test_a_submission_folder_that_cannot_be_read_ends_the_command_before_grading(tmp_path, monkeypatch):
    (tmp_path / 'locked').mkdir()
    monkeypatch.setattr(grade, 'grade', lambda *args, **kwargs: pytest.fail('graded an unreadable folder'))
    monkeypatch.setattr(os, 'access', lambda path, mode: False)  # root reads any folder: play its refusal
    with pytest.raises(SystemExit, match='cannot be read; expected a readable submission folder'):
        cli.main(['grade', str(tmp_path / 'locked')])


def test_a_stop_request_while_a_question_is_being_queued_stops_the_run_already_going(tmp_path, monkeypatch):
    import concurrent.futures
    import time

    (tmp_path / 'slow').mkdir()
    (tmp_path / 'slow' / 'autodiff.py').write_text('import time\ntime.sleep(60)\n')
    submit = concurrent.futures.ThreadPoolExecutor.submit

    def submit_then_stop(pool, *args, **kwargs):  # Ctrl-C lands while submit still starts the worker of a run
        submit(pool, *args, **kwargs)
        time.sleep(1)
        raise KeyboardInterrupt

    monkeypatch.setattr(concurrent.futures.ThreadPoolExecutor, 'submit', submit_then_stop)
    started = time.monotonic()
    graded = grade.grade([str(tmp_path / 'slow')], offering='vu2021', progress=False)
    assert time.monotonic() - started < 20  # not the 60 s the submission sleeps
    assert all(not outcome.graded for outcome in graded[str(tmp_path / 'slow')])
