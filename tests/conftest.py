"""Settings and fixtures that the test modules share."""
import os
from pathlib import Path

if os.environ.get('PYTEST_XDIST_WORKER'):
    # Under pytest-xdist every worker process has a core of its own: threads of BLAS or PyTorch would only contend
    # with the other workers. Set before numpy or torch is first imported.
    for variable in ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS'):
        os.environ.setdefault(variable, '1')

import matplotlib.figure
import pytest


@pytest.fixture
def figures_unrendered(monkeypatch):
    """Every figure written as an empty file, neither laid out nor drawn: for tests of what a run computes and
    records, not of its figures (each takes a few tenths of a second to render; the tests of the figures render
    them). The code that writes a figure still runs up to the file, so the files' names and places are still
    tested."""
    monkeypatch.setattr(matplotlib.figure.Figure, 'tight_layout', lambda figure, *args, **kwargs: None)
    monkeypatch.setattr(matplotlib.figure.Figure, 'savefig', lambda figure, path, **kwargs: Path(path).touch())



@pytest.fixture
def drawn_figures(monkeypatch):
    """The figures plots draws, kept open instead of written (their axes, lines and legends are what a test reads),
    and closed when the test ends."""
    import matplotlib.pyplot as plt
    figures, close = [], plt.close
    monkeypatch.setattr(plt, 'close', figures.append)
    monkeypatch.setattr(matplotlib.figure.Figure, 'savefig', lambda figure, path, **kwargs: None)
    yield figures
    for figure in figures:
        close(figure)


@pytest.fixture
def run_curves_unrendered(monkeypatch):
    """Every run's curves.png written as an empty file: for the tests of a study, which render and check the
    study's own figures. The curves have tests of their own."""
    import runkit
    monkeypatch.setattr(runkit, 'plot_curves', lambda metrics, path: Path(path).touch())
