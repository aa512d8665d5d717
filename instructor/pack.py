"""Build the deliverable as the UvA text asks: LASTNAME_assignment1.zip with the report and the code, without data,
models, runs or caches, and a manifest of every file with its SHA-256. The code keeps the project's layout: the
offering's folder, whose files carry the template's names, the root's files it needs and the library (a flat
template's layout would need the folder's files flattened, which would copy the root's code into them)."""
import hashlib
import json
import os
import re
import zipfile

from instructor import course

# The report each variant hands in (report/<name>.md, and report/build/<name>.pdf once built); the UvA years other
# than 2019, whose texts the project does not hold, hand in the 2019 one. The appendix goes with every one of them.
VARIANT_REPORTS = ('uva2019', 'bgu2023', 'vu2021')


def report_of(offering):
    return offering if offering in VARIANT_REPORTS else 'uva2019'


def contents(offering, root=course.ROOT):
    """The paths (relative to root) that go into the zip: the offering's code as its skeleton has it
    (release.offering_files: its folder, the root's files it needs, the library), the requirements, and the
    offering's report and the appendix with the figures (and any PDF built of them)."""
    from instructor import release
    paths = release.offering_files(offering, root) + ['requirements.txt']
    others = {f'{name}.{kind}' for name in VARIANT_REPORTS if name != report_of(offering) for kind in ('md', 'pdf')}
    report = os.path.join(root, 'report')
    for folder, _, files in sorted(os.walk(report)):  # os.walk follows no linked folder
        paths += sorted(os.path.relpath(os.path.join(folder, name), root) for name in files
                        if name.endswith(('.md', '.png', '.pdf', '.py', '.toml')) and name not in others
                        and '__pycache__' not in folder and _plain_file(os.path.join(folder, name)))
    return paths


def _plain_file(path):
    """A regular file, not a link (which may lead out of the project: a report/figures/x.md linked to a secret)
    nor a FIFO or device (which would block the packing)."""
    return os.path.isfile(path) and not os.path.islink(path)


def missing(offering, root=course.ROOT):
    """The template's files and the report that root lacks."""
    needed = course.TEMPLATE_FILES[offering] + [f'report/{report_of(offering)}.md', 'report/appendix.md']
    return [path for path in needed if not os.path.isfile(os.path.join(root, path))]


def validate(offering, name, root=course.ROOT, out_dir='.'):
    """ValueError for a name that is not a last name, an --out_dir that is no writable folder, or when a file the
    deliverable needs is missing: before any work."""
    if not re.fullmatch(r"[A-Za-z][A-Za-z'-]{0,63}", name):
        raise ValueError(f'--name {name!r}: expected a last name of at most 64 letters (and hyphens or apostrophes)')
    if not os.path.isdir(out_dir) or not os.access(out_dir, os.W_OK):
        raise ValueError(f'--out_dir {out_dir}: expected a writable folder')
    lacking = missing(offering, root)
    if lacking:
        raise ValueError(f'cannot pack {offering}: missing {", ".join(lacking)}')


def pack(offering, name, out_dir='.', root=course.ROOT):
    """Write out_dir/<name>_assignment1.zip; returns its path. ValueError for a bad name or a missing file."""
    validate(offering, name, root, out_dir)
    path = os.path.join(out_dir, f'{name.lower()}_assignment1.zip')
    manifest = {}
    try:
        with zipfile.ZipFile(path + '.partial', 'w', zipfile.ZIP_DEFLATED) as archive:
            for relative in contents(offering, root):
                with open(os.path.join(root, relative), 'rb') as file:
                    data = file.read()
                archive.writestr(relative, data)
                manifest[relative] = hashlib.sha256(data).hexdigest()
            archive.writestr('MANIFEST.json', json.dumps({'offering': offering, 'sha256': manifest}, indent=1) + '\n')
        os.replace(path + '.partial', path)
    except BaseException:  # no half-written zip left behind, whatever stopped it
        if os.path.exists(path + '.partial'):
            os.remove(path + '.partial')
        raise
    return path
