"""The autograder zip Gradescope runs: the grader (instructor/ and the little of runkit/ its command line needs),
without the reference solution, and the two scripts Gradescope calls.

    python -m instructor gradescope --offering uva2024 autograder.zip

Gradescope unpacks the zip into /autograder/source and runs setup.sh once to build its image; then, for each
submission (put in /autograder/submission), run_autograder, which grades it with `python -m instructor grade` and
writes /autograder/results/results.json. AUTOGRADER (default /autograder) and PYTHON (default the image's virtual
environment) let the same script run in a folder laid out like it, as the tests do.
"""
import os
import stat
import zipfile

from instructor import course

# What `python -m instructor grade` imports (this package, and the little of runkit its command line uses), and the
# requirements: no student exercise's solution among them.
GRADER_FILES = (['requirements.txt', 'cifar10_utils.py', 'runkit/__init__.py', 'runkit/datasets.py', 'runkit/flags.py',
                 'instructor/requirements-course.txt']
                + sorted(f'instructor/{name}' for name in os.listdir(os.path.dirname(os.path.abspath(__file__)))
                         if name.endswith('.py')))

SETUP = """#!/usr/bin/env bash
# Gradescope's image: Python, the project's requirements, and what the course's own environments had (each
# installed on its own: one that fails leaves its importers 'not graded', naming it, instead of failing the image).
set -euo pipefail
apt-get update && apt-get install -y python3 python3-pip python3-venv
python3 -m venv /autograder/venv
/autograder/venv/bin/pip install -r /autograder/source/requirements.txt
grep -v '^#' /autograder/source/instructor/requirements-course.txt | while read -r package; do
    [ -n "$package" ] && { /autograder/venv/bin/pip install "$package" || echo "could not install $package"; }
done
"""

RUN = """#!/usr/bin/env bash
# Grade the submission as {offering} into Gradescope's results.json ('not graded' questions say so in its output).
AUTOGRADER="${{AUTOGRADER:-/autograder}}"
PYTHON="${{PYTHON:-$AUTOGRADER/venv/bin/python}}"
mkdir -p "$AUTOGRADER/results"
cd "$AUTOGRADER/source"
"$PYTHON" -m instructor grade "$AUTOGRADER/submission" --offering {offering} --json "$AUTOGRADER/results/results.json"
"""


def build(path, offering):
    """Write the autograder zip for offering to path; returns the names it holds."""
    if offering not in course.OFFERINGS:
        raise ValueError(f'unknown offering {offering!r}: expected one of {", ".join(course.OFFERINGS)}')
    executable = (stat.S_IFREG | 0o755) << 16
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_DEFLATED) as archive:
        for name, text in (('setup.sh', SETUP), ('run_autograder', RUN.format(offering=offering))):
            info = zipfile.ZipInfo(name)
            info.external_attr, info.compress_type = executable, zipfile.ZIP_DEFLATED
            archive.writestr(info, text)
        for name in GRADER_FILES:
            archive.write(os.path.join(course.ROOT, name), name)
        return archive.namelist()
