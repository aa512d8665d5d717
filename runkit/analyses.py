"""The figures of a run's analysis.json (evaluate.py writes both): drawn from it and the test images, and drawn
again later from those alone, without the model, for a new style of figure (evaluate.py --redraw,
experiments/redraw_figures.py)."""
import os

import runkit
from cifar10_utils import DataError
from runkit import datasets, model_files, models, plots

SHOWN = 18  # images in misclassified.png and first_layer.png: three rows of plots.plot_images' six columns
REDRAWN = ('confusion_matrix.png', 'misclassified.png')  # what analysis.json alone draws again


def write_figures(run_dir, analysis, raw, first_layer=None):
    """confusion_matrix.png, and for image data (raw: the test images as stored, None for synth) misclassified.png
    (the examples analysis.json records) and first_layer.png (given the first layer's weights as images), into
    run_dir; returns the names written. Each grid holds SHOWN images, large enough for their captions to print at 8
    points."""
    write = runkit.write_atomically
    write(os.path.join(run_dir, 'confusion_matrix.png'), lambda temporary: plots.plot_confusion(analysis, temporary))
    written = ['confusion_matrix.png']
    if raw is None:
        return written
    wrong, path = analysis['misclassified'], os.path.join(run_dir, 'misclassified.png')
    if wrong:
        write(path, lambda temporary: plots.plot_images(
            raw[[example['index'] for example in wrong]],
            [f'{example["true"]}\n→ {example["predicted"]}\np = {example["probability"]:.3f}' for example in wrong],
            temporary))
        written.append('misclassified.png')
    elif os.path.isfile(path):  # a network that gets every test image right has none
        os.remove(path)
    if first_layer is not None:
        write(os.path.join(run_dir, 'first_layer.png'), lambda temporary: plots.plot_images(
            first_layer, [f'unit {i}' for i in range(len(first_layer))], temporary, stretch=True))
        written.append('first_layer.png')
    return written


def drawing_problem(analysis):
    """What keeps an analysis.json from being drawn again, field by field, as evaluate.py writes them; None when
    nothing does. Checked before anything is drawn, so that no figure is replaced by half the work."""
    if not isinstance(analysis, dict) or not isinstance(analysis.get('data'), dict):
        return 'expected a JSON object with "data"'
    if 'misclassified' not in analysis:
        return ('it does not record the images misclassified.png shows; run evaluate.py on the model to record them '
                'and draw its figures')
    data = analysis['data']
    dataset = datasets.canonical(data.get('dataset')) if isinstance(data.get('dataset'), str) else None
    if dataset not in datasets.DATASETS:
        return f'"data" expected "dataset" one of {", ".join(datasets.DATASETS)}'
    folder = data.get('data_dir')
    generated = datasets.data_files(dataset) is None  # and so read from no folder
    if not isinstance(data.get('fingerprint'), str) or not (isinstance(folder, str) or folder is None and generated):
        return '"data" expected "fingerprint" and "data_dir" strings'
    classes = list(datasets.CLASS_NAMES[dataset])
    n = len(classes)
    if analysis.get('classes') != classes:
        return f'"classes" expected {dataset}\'s {n}: {", ".join(classes)}'
    matrix = analysis.get('confusion_matrix')
    if not (isinstance(matrix, list) and len(matrix) == n and all(
            isinstance(row, list) and len(row) == n and all(type(cell) is int and 0 <= cell <= 10 ** 9 for cell in row)
            for row in matrix)):
        return f'"confusion_matrix" expected {n} rows of {n} counts'
    wrong = analysis['misclassified']
    if not isinstance(wrong, list) or len(wrong) > SHOWN:
        return f'"misclassified" expected a list of at most {SHOWN} test images'
    for i, example in enumerate(wrong):
        if not (isinstance(example, dict) and type(example.get('index')) is int and example['index'] >= 0
                and example.get('true') in classes and example.get('predicted') in classes
                and type(example.get('probability')) in (int, float) and 0 <= example['probability'] <= 1):
            return (f'"misclassified"[{i}] expected "index" (a test image), "true" and "predicted" (two classes) '
                    f'and "probability" (from 0 to 1)')
    return None


def redraw(run_dir):
    """The figures of run_dir's analysis.json (REDRAWN) drawn again, from it and the test images it names, on data of
    the fingerprint analysed; returns the names written. An analysis it cannot draw is a ValueError, and data that
    is not there or not the data analysed a DataError, each before anything is drawn."""
    path = os.path.join(run_dir, 'analysis.json')
    try:
        analysis = model_files.read_json(path)
    except (OSError, ValueError) as error:
        raise ValueError(f'{path} is not an analysis evaluate.py wrote ({type(error).__name__}: {error})') from None
    problem = drawing_problem(analysis)
    if problem:
        raise ValueError(f'{path}: {problem}')
    data = analysis['data']
    dataset, recorded = datasets.canonical(data['dataset']), datasets.canonical_fingerprint(data['fingerprint'])
    data_dir = models.located(dataset, data.get('data_dir'), recorded)
    digest = datasets.fingerprint(dataset, data_dir)
    if digest is None:
        raise DataError(f'there is no {dataset} data in {data_dir}, the folder {path} analyses')
    if digest != recorded:
        raise DataError(f'the {dataset} data in {data_dir} (fingerprint {digest}) is not the data {path} analyses '
                        f'({recorded})')
    raw = models.raw_test_images(dataset, data_dir)
    beyond = [example['index'] for example in analysis['misclassified'] if raw is not None
              and example['index'] >= len(raw)]
    if beyond:
        raise ValueError(f'{path}: "misclassified" shows test image {beyond[0]}, but there are {len(raw)}')
    return write_figures(run_dir, analysis, raw)
