"""The committed reports: each answers its own assignment's questions, in their order and numbered as the assignment
numbers them, stands alone, and captions, numbers and refers to every figure and table."""
import re

import pytest

import make_report
from test_make_report import ROOT

QUESTIONS = {
    'uva2019': ['1.1 a)', '1.1 b)', '1.1 c)', '1.2', '2', '3.1', '3.2 a)', '3.2 b)', '3.2 c)', '4'],
    'bgu2023': ['1', '2.a', '2.b', '2.c', '3', '4.a', '4.b', '5'],
    'vu2021': [str(number) for number in range(1, 10)],
}
OTHER_VARIANTS = {'uva2019': ('BGU', 'VU'), 'bgu2023': ('UvA', 'VU'), 'vu2021': ('UvA', 'BGU')}


def report(name):
    return (ROOT / 'report' / f'{name}.md').read_text()


@pytest.mark.parametrize('name', QUESTIONS)
def test_each_report_answers_its_assignments_questions_in_order(name):
    headings = [heading for heading in make_report.HEADING.findall(report(name)) if heading != 'References {-}']
    assert [re.match(r'Question (\S+(?: [a-z]\))?) ', heading + ' ')[1] for heading in headings] == QUESTIONS[name]


def test_the_appendix_has_the_studies_beyond_the_questions():
    assert [heading.split()[0] for heading in make_report.HEADING.findall(report('appendix'))] == \
        ['A.1', 'A.2', 'A.3', 'A.4', 'A.5', 'References']


@pytest.mark.parametrize('name', QUESTIONS)
def test_each_report_stands_alone(name):
    text = report(name)
    assert text.startswith('---\ntitle: ') and '\nabstract: |\n' in text.split('\n---\n')[0]
    for other in OTHER_VARIANTS[name]:
        assert not re.search(rf'\b{other}\b', text), f'{name}.md mentions {other}'


@pytest.mark.parametrize('name', make_report.REPORTS)
def test_no_report_tells_the_history_of_the_project(name):
    text = report(name)
    for phrase in ('the issue', 'probe', 'stretch aim', 'the project set', 'our aim', 'predates', 'first built',
                   'round'):
        assert not re.search(rf'\b{phrase}\b', text, re.IGNORECASE), phrase
    without_fingerprints = re.sub(r'fingerprint `[0-9a-f]+`', '', text)
    assert not re.search(r'\b[0-9a-f]{7,40}\b', without_fingerprints), 'a commit hash'


@pytest.mark.parametrize('name', make_report.REPORTS)
def test_every_reference_to_a_figure_or_table_is_a_link_that_numbering_follows(name):
    text = re.sub(r'\[(Figure|Table) \d+\]\([^)]+\)|\*\*(Figure|Table) \d+\.\*\*', '', report(name))
    text = text.replace("the assignment's Table 1", '').replace('Table 1 of the assignment', '')
    assert not re.findall(r'\b(?:Figures?|Tables?) \d+', text)


@pytest.mark.parametrize('name', make_report.REPORTS)
def test_every_figure_and_table_is_captioned_numbered_and_referred_to(name):
    text = report(name)
    images = re.findall(r'^!\[[^\]]*\]\(([^)]+)\)$', text, re.MULTILINE)
    figures = [match['label'] for match in make_report.FIGURE.finditer(text)]
    assert images == figures, 'an image without its caption'
    captions = make_report.CAPTION.findall(text)
    for kind in ('Figure', 'Table'):
        assert [int(number) for each, number in captions if each == kind] == \
            list(range(1, 1 + sum(each == kind for each, _ in captions)))
    tables = ['#' + match['label'] for match in make_report.TABLE.finditer(text)]
    assert len(tables) == text.count('**Table ') == len(re.findall(r'^\|-', text, re.MULTILINE)), \
        'a table without its caption, or a caption without its anchor'
    referred = {match['label'] for match in make_report.REFERENCE.finditer(text)}
    assert set(figures + tables) <= referred, set(figures + tables) - referred
    assert make_report.number(text) == text


def test_every_test_a_report_or_a_doc_cites_exists():
    """`tests/test_x.py::test_name`, and `::test_name` after it in the same paragraph, name real tests."""
    cited = []
    for path in sorted((ROOT / 'report').glob('*.md')) + sorted((ROOT / 'docs').glob('*.md')):
        for paragraph in path.read_text().split('\n\n'):
            file = None
            for match in re.finditer(r'`(tests/test_\w+\.py)?::(test_\w+)', paragraph):
                file = match.group(1) or file
                if file:
                    cited.append((path.name, file, match.group(2)))
    missing = [(doc, file, name) for doc, file, name in cited
               if not re.search(rf'^def {name}\(', (ROOT / file).read_text(), re.MULTILINE)]
    assert not missing, missing


@pytest.mark.parametrize('name', [*QUESTIONS, 'appendix'])
def test_every_citation_has_its_reference_and_every_reference_is_cited(name):
    """A citation is "(Author, 2015)", "(Author and Other, 2015)", "(Author et al., 2015)" or "Author (2015)"; the
    report's References list gives each as "Author, A. ... (2015)." and holds nothing the text does not cite."""
    text = report(name)
    body, _, references = text.partition('\n# References {-}\n')
    body = body.replace('\n', ' ')
    cited = set(re.findall(r'(?:\(|; )([A-Z][a-z]+)(?: et al\.| and [A-Z][a-z]+)?, (\d{4})\)', body))
    cited |= set(re.findall(r'\b([A-Z][a-z]+)(?: et al\.| and [A-Z][a-z]+)? \((\d{4})\)', body))
    listed = set(re.findall(r'^([A-Z][a-z]+), [^\n]*?\((\d{4})\)\.', references, re.MULTILINE))
    assert cited == listed, f'cited without reference: {cited - listed}; listed, not cited: {listed - cited}'


def test_every_path_a_report_or_a_doc_cites_exists():
    """`results/...`, `experiments/...`, `tests/...` and the like, written in code type, name real files or
    folders of the project (a `<stage>` stands for any name; vugrad's files and the PDFs built are not the
    project's)."""
    missing = []
    for path in sorted((ROOT / 'report').glob('*.md')) + sorted((ROOT / 'docs').glob('*.md')) + [ROOT / 'README.md']:
        for cited in re.findall(r"(?<!vugrad's )`((?:results|experiments|tests|report|docs|benchmarks|instructor|"
                                r"runkit|uva\d+\w*|bgu2023|vu2021)/[^`\s]*)`", path.read_text()):
            if cited.startswith('report/build/'):  # what make_report --pdf builds, not committed
                continue
            cited = cited.split('::')[0]
            pattern = re.sub(r'<[^>]+>', '*', cited.rstrip('/'))
            if not list(ROOT.glob(pattern)):
                missing.append((path.name, cited))
    assert not missing, missing


def test_every_link_of_the_readme_and_the_docs_reaches_a_file_of_the_project():
    missing = []
    for path in sorted((ROOT / 'docs').glob('*.md')) + [ROOT / 'README.md']:
        for target in re.findall(r'\]\(([^)\s#]+)(?:#[^)]*)?\)', re.sub(r'`[^`]*`', '', path.read_text())):
            if not re.match(r'[a-z]+://|mailto:', target) and not (path.parent / target).exists():
                missing.append((path.name, target))
    assert not missing, missing


def png_inches_and_dpi(data):
    """A PNG's width in inches at the resolution it records (its pHYs chunk), and that resolution in dots per inch."""
    width = int.from_bytes(data[16:20], 'big')
    assert b'pHYs' in data, 'the PNG records no resolution'
    at = data.index(b'pHYs')
    dpi = int.from_bytes(data[at + 4:at + 8], 'big') * 0.0254
    return width / dpi, dpi


@pytest.mark.parametrize('name', [*QUESTIONS, 'appendix'])
def test_every_figure_a_report_shows_prints_unscaled_within_the_text_block(name):
    """pandoc prints a figure at the size its PNG records, shrunk to the text block when wider: a figure drawn wider
    than the block (an image copied from a run and drawn in another style, say) would print its text below the 8
    points every figure is drawn with (tests/test_figure_sizes.py)."""
    from runkit import TEXT_WIDTH
    for link in re.findall(r'!\[[^\]]*\]\(([^)]+\.png)\)', report(name)):
        inches, dpi = png_inches_and_dpi((ROOT / 'report' / link).read_bytes())
        assert inches <= TEXT_WIDTH + 0.01 and dpi >= 150, f'{link}: {inches:.2f} in wide at {dpi:.0f} dpi'
