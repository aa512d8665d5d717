"""Build the deliverable as the UvA text asks: LASTNAME_assignment1.zip with the report and the code, without data,
models, runs or caches, and a manifest of every file with its SHA-256. The code keeps the project's layout: the
root's modules and the offering's face folders, whose files carry the template's names (a flat template's layout
would need the faces' files flattened, which would copy the root's code into them)."""
import hashlib
import json
import os
import re
import zipfile

import offerings
from instructor import course

# The report each variant hands in (report/<name>.md, and report/build/<name>.pdf once built); the UvA years other
# than 2019, whose texts the project does not hold, hand in the 2019 one. The appendix goes with every one of them.
VARIANT_REPORTS = ('uva2019', 'bgu2023', 'vu2021')


def report_of(offering):
    return offering if offering in VARIANT_REPORTS else 'uva2019'


def contents(offering, root=offerings.ROOT):
    """The paths (relative to root) that go into the zip: the package's Python files, the offering's face folders,
    the requirements, and the offering's report and the appendix with the figures (and any PDF built of them)."""
    from instructor import grade
    face = offerings.OFFERINGS[offering][0]
    paths = [name for name in sorted(os.listdir(root)) if name.endswith('.py') or name == 'requirements.txt']
    for folder in grade.face_folders(face) if face else []:
        paths += [f'{folder}/{name}' for name in sorted(os.listdir(os.path.join(root, folder))) if name.endswith('.py')]
    others = {f'{name}.{kind}' for name in VARIANT_REPORTS if name != report_of(offering) for kind in ('md', 'pdf')}
    report = os.path.join(root, 'report')
    for folder, _, files in sorted(os.walk(report)):
        paths += sorted(os.path.relpath(os.path.join(folder, name), root) for name in files
                        if name.endswith(('.md', '.png', '.pdf', '.py', '.toml')) and name not in others
                        and '__pycache__' not in folder)
    return paths


def missing(offering, root=offerings.ROOT):
    """The template's files and the report that root lacks."""
    needed = course.TEMPLATE_FILES[offering] + [f'report/{report_of(offering)}.md', 'report/appendix.md']
    return [path for path in needed if not os.path.isfile(os.path.join(root, path))]


def validate(offering, name, root=offerings.ROOT):
    """ValueError for a name that is not a last name, or when a file the deliverable needs is missing."""
    if not re.fullmatch(r"[A-Za-z][A-Za-z'-]*", name):
        raise ValueError(f'--name {name!r}: expected a last name of letters (and hyphens or apostrophes)')
    lacking = missing(offering, root)
    if lacking:
        raise ValueError(f'cannot pack {offering}: missing {", ".join(lacking)}')


def pack(offering, name, out_dir='.', root=offerings.ROOT):
    """Write out_dir/<name>_assignment1.zip; returns its path. ValueError for a bad name or a missing file."""
    validate(offering, name, root)
    path = os.path.join(out_dir, f'{name.lower()}_assignment1.zip')
    manifest = {}
    with zipfile.ZipFile(path + '.partial', 'w', zipfile.ZIP_DEFLATED) as archive:
        for relative in contents(offering, root):
            with open(os.path.join(root, relative), 'rb') as file:
                data = file.read()
            archive.writestr(relative, data)
            manifest[relative] = hashlib.sha256(data).hexdigest()
        archive.writestr('MANIFEST.json', json.dumps({'offering': offering, 'sha256': manifest}, indent=1) + '\n')
    os.replace(path + '.partial', path)
    return path
