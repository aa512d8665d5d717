"""python -m instructor {release, grade, gradescope, pack}: see instructor/__init__.py."""
import csv
import json
import os
import sys

import runkit
from instructor import course, detect, grade, gradescope, pack, release
from runkit import flags


def main(argv=None):
    parser = runkit.ArgumentParser(prog='python -m instructor', description=__doc__.split(':')[0])
    commands = parser.add_subparsers(dest='command', required=True)
    offering = dict(choices=tuple(course.OFFERINGS), default=course.DEFAULT, help='default: %(default)s')
    grading_offering = dict(choices=('auto',) + tuple(course.OFFERINGS), default=course.DEFAULT,
                            help="default: %(default)s; auto: each submission as its own files tell")
    releasing = commands.add_parser('release', help='write the student skeleton and check it')
    releasing.add_argument('out_dir')
    releasing.add_argument('--offering', **offering)
    grading = commands.add_parser('grade', help='grade submissions question by question')
    grading.add_argument('submissions', nargs='+', metavar='SUBMISSION_DIR')
    grading.add_argument('--offering', **grading_offering)
    grading.add_argument('--json', metavar='PATH', help="Gradescope's results.json (a folder of them for several)")
    grading.add_argument('--csv', metavar='PATH', help='one row per submission')
    grading.add_argument('--staff-tests', metavar='PATH', help="a course's own test file, run against each too")
    grading.add_argument('--jobs', type=flags.positive_int, default=None, help='questions graded at once (cores)')
    autograding = commands.add_parser('gradescope', help="build Gradescope's autograder zip")
    autograding.add_argument('out_zip', metavar='OUT.zip')
    autograding.add_argument('--offering', **offering)
    packing = commands.add_parser('pack', help='zip the deliverable')
    packing.add_argument('--offering', **offering)
    packing.add_argument('--name', required=True, help='your last name: LASTNAME_assignment1.zip')
    packing.add_argument('--out_dir', default='.')
    args = parser.parse_args(argv)
    return {'release': _release, 'grade': _grade, 'gradescope': _gradescope, 'pack': _pack}[args.command](args)


def _release(args):
    try:
        work = release.release(args.out_dir, args.offering)
    except (FileExistsError, ValueError) as error:
        sys.exit(f'error: {error}')
    problems, checks = release.self_check(args.out_dir, args.offering)
    for problem in problems:
        print(f'self-check: {problem}', file=sys.stderr)
    if problems:
        sys.exit(f'error: the skeleton in {args.out_dir} failed {len(problems)} self-checks (above)')
    print(f'released {args.offering} into {args.out_dir}: {sum(map(len, work.values()))} functions to write in '
          f'{len(work)} files; self-check passed: it imports, all {checks} graded checks fail on it with '
          f'NotImplementedError and pass on the solution, no line of a solution is left')
    return work


def _grade(args):
    for submission in args.submissions:
        if not os.path.isdir(submission):
            sys.exit(f'error: {grade.printable(submission)} is not a folder; expected a submission folder of Python '
                     f'files')
        if not os.access(submission, os.R_OK | os.X_OK):
            sys.exit(f'error: {grade.printable(submission)} cannot be read; expected a readable submission folder')
    if args.staff_tests and not os.path.isfile(args.staff_tests):
        sys.exit(f'error: --staff-tests {args.staff_tests} is not a file')
    # the outputs are checked before any grading, so that hours of it are not lost to a path that cannot be written
    if args.csv:
        _check_writable('--csv', args.csv)
    if args.json:
        _check_writable('--json', args.json if len(args.submissions) == 1 else os.path.join(args.json, 'x.json'),
                        folder_ok=len(args.submissions) > 1)
    offerings, notes = _offerings(args.submissions, args.offering)
    results, interrupted = {}, False
    for offering in dict.fromkeys(offerings.values()):  # after an interruption, the offerings left are not graded
        group = [submission for submission in args.submissions if offerings[submission] == offering]
        results.update({submission: grade.ungraded(course.RUBRIC[offering], grade.INTERRUPTED) for submission in group}
                       if interrupted else grade.grade(group, offering, jobs=args.jobs))
        interrupted = any(o.reason == grade.INTERRUPTED for outcomes in results.values() for o in outcomes)
    results = {submission: results[submission] for submission in args.submissions}
    skipped = ({}, 'not run: grading was interrupted' if interrupted else '')
    staff = {submission: grade.staff_tests(submission, offerings[submission], args.staff_tests)
             if args.staff_tests and not interrupted else skipped for submission in args.submissions}
    for submission, outcomes in results.items():
        missing = grade.not_graded(outcomes)
        maximum = sum(check.points for check in course.RUBRIC[offerings[submission]])
        print(f'\n{grade.printable(submission)}: {grade.score(outcomes)} of {maximum}'
              + (f', NOT GRADED: questions {", ".join(missing)} could not be graded' if missing else ''))
        if submission in notes:
            print(notes[submission])
        rows = [['question', 'points', 'max', 'first failing check']] + grade.question_table(outcomes)
        widths = [max(len(str(row[i])) for row in rows) for i in range(3)]
        for row in rows:
            print('  '.join(str(cell).ljust(width) for cell, width in zip(row[:3], widths)) + '  ' + row[3])
        tests, failure = staff[submission]
        for name, (passed, reason) in tests.items():
            print(f'staff {name}: {"passed" if passed else reason}')
        if failure:
            print(f'staff tests: {failure}')
    if args.json:
        _write_json(args.json, results, staff)
    if args.csv:
        _write_csv(args.csv, results, offerings)
    again = [submission for submission, outcomes in results.items() if grade.not_graded(outcomes)]
    if again:
        sys.exit(f'error: {len(again)} submission(s) could not be graded in full, for reasons outside them (see '
                 f'"not graded" above); grade them again: {" ".join(grade.printable(s) for s in again)}')
    return results


def _offerings(submissions, offering):
    """({submission: the offering it is graded as}, {submission: a line saying why, or that it looks like another}):
    with 'auto' each as its own files tell (ending the program in one line, before grading, for one that does not),
    else `offering`, noting a submission that looks like another template."""
    offerings, notes = {}, {}
    for submission in submissions:
        detected, why = detect.offering_of(submission)
        if offering == 'auto':
            if detected is None:
                sys.exit(f'error: cannot tell which template {grade.printable(submission)} follows ({why}); give '
                         f'--offering')
            offerings[submission], notes[submission] = detected, f'graded as {detected}: {why}'
        else:
            offerings[submission] = offering
            face = course.OFFERINGS[offering][0]
            has_face = face and os.path.isdir(os.path.join(submission, face))  # this project's layout, all folders
            if detected and not has_face and not detect.same_template(detected, offering):
                notes[submission] = f"note: it looks like {detected}'s template ({why}), not {offering}'s"
    return offerings, notes


def _write_csv(path, results, offerings):
    """One row per submission: its score, the maximum and the points of every check (with several offerings, a
    column of each's checks, named with the offering, and the submission's offering)."""
    several = len(set(offerings.values())) > 1
    columns = {}  # (offering, question, name) -> its heading, in order
    for offering in dict.fromkeys(offerings[submission] for submission in results):
        for c in course.RUBRIC[offering]:
            columns[offering, c.question, c.name] = (f'{offering} ' if several else '') + f'{c.question} {c.name}'
    with open(path, 'w', newline='', encoding='utf-8', errors='backslashreplace') as file:
        writer = csv.writer(file)
        writer.writerow(['submission'] + ['offering'] * several + ['score', 'max'] + list(columns.values()))
        for submission, outcomes in results.items():
            offering = offerings[submission]
            cells = {(offering, o.check.question, o.check.name): grade.NOT_GRADED if not o.graded
                     else o.check.points if o.passed else 0 for o in outcomes}
            writer.writerow([grade.printable(submission)] + [offering] * several
                            + [grade.NOT_GRADED if grade.not_graded(outcomes) else grade.score(outcomes),
                               sum(check.points for check in course.RUBRIC[offering])]
                            + [cells.get(key, '') for key in columns])


def _check_writable(flag, path, folder_ok=False):
    """End the program in one line unless path can be written: its folder exists and is writable (for folder_ok,
    the folder may be made), and path is no folder."""
    folder = os.path.dirname(os.path.abspath(path))
    if folder_ok and not os.path.exists(folder):
        folder = os.path.dirname(folder)
    if os.path.isdir(path):
        sys.exit(f'error: {flag} {path} is a folder; expected a file to write')
    if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
        sys.exit(f'error: {flag} {path} cannot be written: {folder} is not a writable folder')


def _write_json(path, results, staff):
    if len(results) == 1:
        (submission, outcomes), = results.items()
        with open(path, 'w') as file:
            json.dump(grade.gradescope(outcomes, staff[submission][0]), file, indent=1)
        return
    os.makedirs(path, exist_ok=True)
    taken = set()
    for submission, outcomes in results.items():
        name = base = os.path.basename(os.path.normpath(submission)) or 'submission'
        number = 1
        while name in taken:  # a/sub and b/sub: sub.json and sub-2.json
            number += 1
            name = f'{base}-{number}'
        taken.add(name)
        with open(os.path.join(path, f'{name}.json'), 'w') as file:
            json.dump(grade.gradescope(outcomes, staff[submission][0]), file, indent=1)


def _gradescope(args):
    if not args.out_zip.endswith('.zip'):
        sys.exit(f'error: {args.out_zip}: expected a path ending in .zip')
    _check_writable('OUT.zip', args.out_zip)
    names = gradescope.build(args.out_zip, args.offering)
    print(f"wrote {args.out_zip}: Gradescope's autograder for {args.offering}, {len(names)} files (setup.sh, "
          f"run_autograder and the grader, without the reference solution)")
    return names


def _pack(args):
    try:
        pack.validate(args.offering, args.name, out_dir=args.out_dir)
        outcomes = grade.grade([course.ROOT], args.offering)[course.ROOT]
        print(f'public tests: {sum(o.passed for o in outcomes)} of {len(outcomes)} pass')
        path = pack.pack(args.offering, args.name, args.out_dir)
    except (ValueError, OSError) as error:
        sys.exit(f'error: {error}')
    print(f'wrote {path}')
    return path


if __name__ == '__main__':
    main()
