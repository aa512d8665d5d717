"""Run pytest on a submission inside limits: the child process of instructor/grade.py, one per question.

    python -I -B sandboxed_pytest.py FOLDER REPORT_FD MEMORY_BYTES CPU_SECONDS -- PYTEST_ARGS...

Before anything of the submission is imported, it limits the process's data (heap and private mappings: what it
allocates, not the address space torch's libraries take up), CPU time, file sizes and processes, and (where the
kernel has Landlock, Linux 5.13 on) forbids writing, creating or removing anything outside FOLDER and /dev/null,
reading anything but FOLDER, the Python installation and the system's own folders (/usr, /lib, /etc, /proc, /sys,
/dev: not the project, other submissions or the instructor's files), and (Linux 6.12 on) signalling the grader.
It then runs pytest with a plugin that sends every test's outcome, as JSON lines, down the pipe REPORT_FD, which the
parent alone reads: nothing the submission writes into its folder counts. At the end it checks that pytest's
machinery, the checks' functions and numpy's and torch's origins are what they were before the submission ran, and
says so down the pipe too.

This stops mistakes and casual mischief, not a determined attacker: the submission runs as the same user in the
same process as this plugin, so it can write down the pipe itself, patch what the comparison does not cover, change
files' permissions and times (Landlock does not cover them), and read what the system folders hold.
"""
import ctypes
import json
import os
import resource
import sys

# Landlock's rights on files and folders (linux/landlock.h)
_EXECUTE, _READ_FILE, _READ_DIR = 1 << 0, 1 << 2, 1 << 3
_READ = _EXECUTE | _READ_FILE | _READ_DIR
_WRITE_FILE, _REMOVE_DIR, _REMOVE_FILE = 1 << 1, 1 << 4, 1 << 5
_MAKE = sum(1 << bit for bit in range(6, 13))  # character devices, folders, files, sockets, FIFOs, block devices, links
_REFER, _TRUNCATE = 1 << 13, 1 << 14           # from Landlock ABI 2 and 3
_SCOPE_ABSTRACT_UNIX_SOCKET, _SCOPE_SIGNAL = 1 << 0, 1 << 1  # from ABI 6: no reaching outside the sandbox
_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446
_PR_SET_NO_NEW_PRIVS = 38


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [('allowed_access', ctypes.c_uint64), ('parent_fd', ctypes.c_int32)]


# What a run may read besides its folder: the system's own folders, which hold no project and no submission.
SYSTEM_FOLDERS = ('/usr', '/lib', '/lib64', '/lib32', '/bin', '/sbin', '/etc', '/proc', '/sys', '/dev')


def readable_folders():
    """The folders a run may read: the Python installation (its prefixes and the folders on sys.path but this
    script's own), and the system's."""
    python = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
              os.path.dirname(os.path.realpath(sys.executable))}
    python |= {path for path in sys.path[1:] if path}
    return sorted({os.path.realpath(path) for path in python | set(SYSTEM_FOLDERS) if os.path.exists(path)})


def landlock_abi():
    """The kernel's Landlock ABI version, 0 where it has none."""
    return max(0, ctypes.CDLL(None).syscall(_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(1)))


def confine(folder):
    """Forbid this process and its children to change anything outside folder and /dev/null, to read anything but
    folder and readable_folders(), and (Landlock ABI 6 on) to signal any process outside the sandbox, such as the
    grader; returns (Landlock's ABI version, or 0 where the kernel has none and nothing is forbidden)."""
    libc = ctypes.CDLL(None, use_errno=True)
    abi = landlock_abi()
    if abi < 1:
        return 0
    handled = _READ | _WRITE_FILE | _REMOVE_DIR | _REMOVE_FILE | _MAKE | (_REFER if abi >= 2 else 0) | \
        (_TRUNCATE if abi >= 3 else 0)
    # struct landlock_ruleset_attr: handled_access_fs, handled_access_net (ABI 4), scoped (ABI 6)
    attributes = (ctypes.c_uint64 * 3)(handled, 0, _SCOPE_SIGNAL | _SCOPE_ABSTRACT_UNIX_SOCKET if abi >= 6 else 0)
    size = 24 if abi >= 6 else 8
    ruleset = libc.syscall(_CREATE_RULESET, ctypes.byref(attributes), ctypes.c_size_t(size), ctypes.c_uint32(0))
    if ruleset < 0:
        raise OSError(ctypes.get_errno(), 'landlock_create_ruleset failed')
    try:
        rules = [(folder, handled), ('/dev/null', _READ_FILE | (handled & (_WRITE_FILE | _TRUNCATE)))]
        rules += [(path, _READ) for path in readable_folders() if not os.path.isfile(path)]
        for path, allowed in rules:
            fd = os.open(path, os.O_PATH)
            try:
                rule = _PathBeneath(allowed, fd)
                if libc.syscall(_ADD_RULE, ruleset, ctypes.c_int(1), ctypes.byref(rule), ctypes.c_uint32(0)):
                    raise OSError(ctypes.get_errno(), f'landlock_add_rule failed for {path}')
            finally:
                os.close(fd)
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) or libc.syscall(_RESTRICT_SELF, ruleset, 0):
            raise OSError(ctypes.get_errno(), 'landlock_restrict_self failed')
    finally:
        os.close(ruleset)
    return abi


def limit(memory_bytes, cpu_seconds):
    resource.setrlimit(resource.RLIMIT_DATA, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))  # SIGXCPU first, then SIGKILL
    resource.setrlimit(resource.RLIMIT_FSIZE, (256 << 20, 256 << 20))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NPROC, (256, 256))  # a fork bomb (not for root, whom it does not bind)


class Reporter:
    """The pytest plugin: each test's outcome down the pipe, the first line of its failure as the reason."""

    def __init__(self, pipe):
        self.pipe = pipe

    def send(self, **message):
        self.pipe.write(json.dumps(message) + '\n')
        self.pipe.flush()

    def pytest_runtest_logreport(self, report):
        if report.when == 'call' or report.outcome != 'passed':
            reason = ''
            if report.outcome != 'passed':
                crash = getattr(report.longrepr, 'reprcrash', None)
                reason = crash.message if crash else str(report.longrepr)
            # the test's name within its file: 'test_linear_forward', 'TestReLU::test_relu'
            self.send(test=report.nodeid.split('::', 1)[-1], when=report.when, outcome=report.outcome,
                      reason=reason.strip().splitlines()[0][:300] if reason.strip() else report.outcome)

    def pytest_collectreport(self, report):
        if report.outcome != 'passed':
            lines = str(report.longrepr).strip().splitlines()
            last = lines[-1].removeprefix('E').strip() if lines else 'collection failed'  # pytest's 'E   ' margin
            self.send(collect=report.nodeid, reason=last[:300])


def machinery():
    """What a submission would have to replace to pass checks it fails: pytest's running and reporting of a test,
    the graded checks' own functions, and the libraries they compute with (which must be the installed ones)."""
    import _pytest.python
    import _pytest.reports
    import _pytest.runner
    parts = [_pytest.runner.runtestprotocol, _pytest.runner.call_and_report, _pytest.runner.CallInfo.from_call,
             _pytest.reports.TestReport.from_item_and_call, _pytest.python.Function.runtest,
             _pytest.python.pytest_pyfunc_call, Reporter.pytest_runtest_logreport, Reporter.send]
    checks = sys.modules.get('test_graded')
    if checks is not None:
        parts += sorted((name, value) for name, value in vars(checks).items()
                        if callable(value) and not name.startswith('__'))
    for name in ('numpy', 'torch'):
        module = sys.modules.get(name)
        parts.append((name, module is None or 'site-packages' in (getattr(module, '__file__', '') or '')))
    return parts


class Integrity:
    """A pytest plugin that notes the machinery once the checks are collected, before any of the submission runs
    (the checks import it inside each test), so that the end of the run can compare."""

    before = None

    def pytest_collection_finish(self, session):
        self.before = machinery()


def main(argv):
    folder, fd, memory, cpu = argv[0], int(argv[1]), int(argv[2]), int(argv[3])
    pytest_args = argv[argv.index('--') + 1:]
    pipe = os.fdopen(fd, 'w')
    reporter, integrity = Reporter(pipe), Integrity()
    try:
        limit(memory, cpu)
        abi = confine(folder)
    except (OSError, ValueError) as error:  # no sandbox, no run: the grader reports it as not graded
        reporter.send(sandbox=f'{type(error).__name__}: {error}')
        return
    import numpy  # noqa: F401  (the installed one, before the submission's folder is on sys.path)
    import pytest
    reporter.send(started=True, landlock=abi)
    status = pytest.main(['-q', '-p', 'no:cacheprovider', *pytest_args], plugins=[reporter, integrity])
    reporter.send(finished=int(status), intact=integrity.before is None or integrity.before == machinery())


if __name__ == '__main__':
    main(sys.argv[1:])
