"""How long grading one submission takes: instructor.grade's sandboxed processes, one per question, against all of the
offering's graded checks in one plain pytest process (the baseline, what isolation costs), taking turns.

    python benchmarks/bench_grading.py [--offering uva2019] [--repeats 3]
"""
import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from instructor import course, grade
from timing import cpu_name


def plain_pytest(offering):
    """Every graded check of the offering in one unsandboxed pytest process."""
    checks = [f'{grade.CHECKS}::{test}' for test in dict.fromkeys(check.test for check in course.RUBRIC[offering])]
    env = {**os.environ, 'COURSE_OFFERING': offering, 'COURSE_CODE': course.folder(offering),
           'COURSE_SUBMISSION': course.ROOT, 'OMP_NUM_THREADS': '1'}
    subprocess.run([sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider', *checks], env=env, check=True,
                   capture_output=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--offering', choices=tuple(course.OFFERINGS), default=course.DEFAULT)
    parser.add_argument('--repeats', type=int, default=3)
    args = parser.parse_args(argv)
    print(f'{cpu_name()}, {os.cpu_count()} cores; grading the solution for {args.offering}')
    times = {'sandboxed, one process per question': [], 'one plain pytest process': []}
    for _ in range(args.repeats):
        for name, run in (('sandboxed, one process per question',
                           lambda: grade.grade([course.ROOT], args.offering, progress=False)),
                          ('one plain pytest process', lambda: plain_pytest(args.offering))):
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    for name, seconds in times.items():
        print(f'{name}: {min(seconds):.1f} s (best of {args.repeats})')
    sandboxed, plain = (min(seconds) for seconds in times.values())
    print(f'isolation costs {sandboxed / plain:.2f}x')
    return times


if __name__ == '__main__':
    main()
