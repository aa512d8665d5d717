"""Run pytest on a submission inside limits: the child process of instructor/grade.py, one per question.

    python -I -B sandboxed_pytest.py FOLDER REPORT_FD MEMORY_BYTES CPU_SECONDS -- PYTEST_ARGS...

Before anything of the submission is imported, it limits the process's address space, CPU time and file sizes,
and (where the kernel has Landlock, Linux 5.13 on) forbids writing, creating or removing anything outside FOLDER
and /dev/null. It then runs pytest with a plugin that sends every test's outcome, as JSON lines, down the pipe
REPORT_FD, which the parent alone reads: nothing the submission writes counts. At the end it checks that pytest's
machinery is still its own, and says so down the pipe too.

This stops mistakes and casual mischief, not a determined attacker: the submission runs as the same user in the
same process as this plugin, so it can reach the pipe, and it can read whatever the user can.
"""
import ctypes
import json
import os
import resource
import sys

# Landlock's rights on files and folders that change something (linux/landlock.h); reading stays free.
_WRITE_FILE, _REMOVE_DIR, _REMOVE_FILE = 1 << 1, 1 << 4, 1 << 5
_MAKE = sum(1 << bit for bit in range(6, 13))  # character devices, folders, files, sockets, FIFOs, block devices, links
_REFER, _TRUNCATE = 1 << 13, 1 << 14           # from Landlock ABI 2 and 3
_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446
_PR_SET_NO_NEW_PRIVS = 38


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [('allowed_access', ctypes.c_uint64), ('parent_fd', ctypes.c_int32)]


def forbid_writes_outside(folder):
    """Forbid this process and its children to change anything outside folder and /dev/null; returns whether the
    kernel could (False without Landlock)."""
    libc = ctypes.CDLL(None, use_errno=True)
    abi = libc.syscall(_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(1))  # the ABI version
    if abi < 1:
        return False
    handled = _WRITE_FILE | _REMOVE_DIR | _REMOVE_FILE | _MAKE | (_REFER if abi >= 2 else 0) | \
        (_TRUNCATE if abi >= 3 else 0)
    attributes = ctypes.c_uint64(handled)
    ruleset = libc.syscall(_CREATE_RULESET, ctypes.byref(attributes), ctypes.c_size_t(8), ctypes.c_uint32(0))
    if ruleset < 0:
        return False
    for path, allowed in ((folder, handled), ('/dev/null', handled & (_WRITE_FILE | _TRUNCATE))):
        fd = os.open(path, os.O_PATH)
        rule = _PathBeneath(allowed, fd)
        if libc.syscall(_ADD_RULE, ruleset, ctypes.c_int(1), ctypes.byref(rule), ctypes.c_uint32(0)) != 0:
            return False
        os.close(fd)
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 or libc.syscall(_RESTRICT_SELF, ruleset, 0) != 0:
        return False
    os.close(ruleset)
    return True


def limit(memory_bytes, cpu_seconds):
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))  # SIGXCPU first, then SIGKILL
    resource.setrlimit(resource.RLIMIT_FSIZE, (256 << 20, 256 << 20))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


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
            self.send(collect=report.nodeid, reason=str(report.longrepr).strip().splitlines()[-1][:300])


def main(argv):
    folder, fd, memory, cpu = argv[0], int(argv[1]), int(argv[2]), int(argv[3])
    pytest_args = argv[argv.index('--') + 1:]
    pipe = os.fdopen(fd, 'w')
    limit(memory, cpu)
    sandboxed = forbid_writes_outside(folder)
    import _pytest.python
    import _pytest.runner
    import pytest
    machinery = (_pytest.runner.runtestprotocol, _pytest.runner.call_and_report, _pytest.python.Function.runtest,
                 _pytest.python.pytest_pyfunc_call, Reporter.pytest_runtest_logreport)
    reporter = Reporter(pipe)
    reporter.send(started=True, landlock=sandboxed)
    status = pytest.main(['-q', '-p', 'no:cacheprovider', '-p', 'no:randomly', *pytest_args], plugins=[reporter])
    intact = machinery == (_pytest.runner.runtestprotocol, _pytest.runner.call_and_report,
                           _pytest.python.Function.runtest, _pytest.python.pytest_pyfunc_call,
                           Reporter.pytest_runtest_logreport)
    reporter.send(finished=int(status), intact=intact)


if __name__ == '__main__':
    main(sys.argv[1:])
