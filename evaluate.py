"""Evaluate a trained run on its test set, and show what it confuses.

    python evaluate.py results/convnet_best                # the run's own data and preprocessing
    python evaluate.py runs/train_mlp_numpy --data_dir other/cifar-10-batches-py
    python evaluate.py results/convnet_best --redraw      # its figures again from analysis.json, without the model

Loads the model of a run folder (model.npz of the NumPy or the autodiff MLP, model.pt of the PyTorch MLP or the
ConvNet; never executing code from the file), rebuilds the test split as the run saw it (the dataset, folder and
preprocessing its flags name, unless --dataset or --data_dir say otherwise), predicts in eval mode the way the
training script evaluates (for the ConvNet, --tta and --tta_shift may name other views of each image to average
over than the run's evaluations did), and writes into the run folder:

    analysis.json         test accuracy, confusion matrix (counts: rows true class, columns predicted),
                          per-class precision and recall, the most frequent confusions, the test examples
                          misclassified.png shows; for the ConvNet, the views averaged over and whether they are
                          the run's
    confusion_matrix.png  the matrix, coloured by row (the share of each true class) with the counts written in
    misclassified.png     the 18 test images the network got most confidently wrong (image data only)
    first_layer.png       the first layer's weights as images, one per hidden unit, of its first 18 units (the
                          MLPs on images)

--redraw draws confusion_matrix.png and misclassified.png again from analysis.json and the test images alone, for
a new style of figure; first_layer.png needs the model.
"""
import argparse
import os
import sys

import numpy as np

import runkit
from cifar10_utils import DataError
from runkit import analyses, datasets, flags, model_files, models


def analyse(predicted, labels, classes):
    """The analysis.json dict (but for where it came from): accuracy, confusion matrix, precision and recall."""
    confusion = np.zeros((len(classes), len(classes)), dtype=np.int64)
    np.add.at(confusion, (labels, predicted), 1)
    correct = np.diag(confusion)
    with np.errstate(invalid='ignore', divide='ignore'):
        precision = np.where(confusion.sum(axis=0) > 0, correct / confusion.sum(axis=0), np.nan)
        recall = np.where(confusion.sum(axis=1) > 0, correct / confusion.sum(axis=1), np.nan)
    off_diagonal = [(int(confusion[true, guess]), classes[true], classes[guess]) for true in range(len(classes))
                    for guess in range(len(classes)) if true != guess]
    return {'test_accuracy': float(correct.sum() / len(labels)), 'num_test': int(len(labels)),
            'classes': list(classes), 'confusion_matrix': confusion.tolist(),
            'precision': dict(zip(classes, [None if np.isnan(p) else float(p) for p in precision])),
            'recall': dict(zip(classes, [None if np.isnan(r) else float(r) for r in recall])),
            'most_confused': [{'true': true, 'predicted': guess, 'count': count}
                              for count, true, guess in sorted(off_diagonal, reverse=True)[:5]]}


def most_confidently_wrong(predicted, probabilities, labels, count=analyses.SHOWN):
    """Indices of the `count` misclassified examples with the highest predicted probability, highest first."""
    wrong = np.flatnonzero(predicted != labels)
    return wrong[np.argsort(-probabilities[wrong, predicted[wrong]], kind='stable')][:count]


def shown_wrong(predicted, probabilities, labels, classes):
    """analysis.json's record of the examples misclassified.png shows (most_confidently_wrong): each one's index in
    the test split, true class, predicted class and the probability given to it."""
    return [{'index': int(i), 'true': classes[labels[i]], 'predicted': classes[predicted[i]],
             'probability': float(probabilities[i, predicted[i]])}
            for i in most_confidently_wrong(predicted, probabilities, labels)]


def read_final_test_accuracy(run_dir):
    """The final test accuracy in run_dir's metrics.json, None without one; read before anything is predicted, so
    that a damaged file is a ModelFileError then rather than after the work."""
    path = os.path.join(run_dir, 'metrics.json')
    if not os.path.exists(path):
        return None
    try:
        return model_files.read_json(path).get('final_test_accuracy')
    except (ValueError, AttributeError, OSError) as error:
        raise model_files.ModelFileError(f'{path} is not the metrics.json of a run ({type(error).__name__}: '
                                       f'{error}); move it away to evaluate the model alone') from None


def check_analysis_replaced(run_dir, data, overwrite):
    """An analysis.json already in run_dir is replaced by one on the same data (evaluate.py gives the same again),
    but by one on other data only with --overwrite; otherwise the program ends in one line."""
    path = os.path.join(run_dir, 'analysis.json')
    try:
        earlier = model_files.read_json(path)['data']
        earlier = {**earlier, 'dataset': datasets.canonical(earlier['dataset']),
                   'fingerprint': datasets.canonical_fingerprint(earlier['fingerprint'])}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):  # none, or not ours: nothing of value to keep
        return
    if earlier != data and not overwrite:
        sys.exit(f'error: {path} analyses {earlier.get("dataset")} in {earlier.get("data_dir")}, not '
                 f'{data["dataset"]} in {data["data_dir"]}; pass --overwrite to replace it')


def parse_args(argv=None):
    parser = runkit.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('run_dir', help='a run folder: its model.npz or model.pt, and metrics.json')
    parser.add_argument('--dataset', type=flags.dataset_name(datasets.DATASETS), choices=datasets.DATASETS,
                        default=None, help="the data to evaluate on (default: the run's)")
    parser.add_argument('--data_dir', default=None, help="its folder (default: the run's, or the dataset's default)")
    parser.add_argument('--device', choices=flags.DEVICES, default='auto',
                        help='for the PyTorch models; auto takes the GPU when there is one')
    flags.add_threads_argument(parser)
    parser.add_argument('--overwrite', action='store_true',
                        help="replace an analysis of other data than this one's in the run folder")
    parser.add_argument('--tta', action=argparse.BooleanOptionalAction, default=None,
                        help="the ConvNet: average each image's predictions with its mirror image's "
                             "(default: as the run's evaluations did)")
    parser.add_argument('--tta_shift', type=flags.view_shift, default=None, metavar='PIXELS',
                        help="the ConvNet: average over the views moved diagonally by this many pixels too "
                             "(see train_convnet_pytorch.py; default: as the run's evaluations did)")
    parser.add_argument('--redraw', action='store_true',
                        help="draw confusion_matrix.png and misclassified.png again from the run's analysis.json, "
                             "without the model")
    args = parser.parse_args(argv)
    evaluation_flags = [f'--{flag}' for flag in ('dataset', 'data_dir', 'tta', 'tta_shift', 'threads')
                        if getattr(args, flag) is not None] + ['--overwrite'] * args.overwrite \
        + ['--device'] * (args.device != 'auto')
    if args.redraw and evaluation_flags:
        parser.error(f'--redraw draws the analysis.json there is, without the model; it takes no {evaluation_flags[0]}')
    return args


def load_run(args):
    """(model path, kind, model, the run's config, its test split, where the data came from, the run's final test
    accuracy); a problem with the files or the data ends the program in one line."""
    try:
        path, kind = models.find(args.run_dir)
        model, config = models.load(path, kind)
        test, data = models.run_split(config, args.dataset, args.data_dir)
        n_inputs, expected = int(np.prod(test.images.shape[1:])), models.n_inputs(kind, model)
        if n_inputs != expected:
            raise DataError(f'the model takes inputs of {expected} values, but the {data["dataset"]} test images '
                            f'have {n_inputs}')
        return path, kind, model, config, test, data, read_final_test_accuracy(args.run_dir)
    except (model_files.ModelFileError, DataError) as error:
        sys.exit(f'error: {error}')


def chosen_views(args, path, kind, config, test):
    """(the config to predict with, the views it averages over as analysis.json records them: {} for no ConvNet)."""
    if kind != 'convnet':
        if args.tta is not None or args.tta_shift is not None:
            sys.exit(f'error: --tta and --tta_shift are for the ConvNet; {path} holds a model of kind {kind}')
        return config, {}
    import torch

    from runkit import torch_data
    run_views = {'tta': config.get('tta', False), 'tta_shift': config.get('tta_shift', 0)}
    views = {flag: run_views[flag] if getattr(args, flag) is None else getattr(args, flag) for flag in run_views}
    config = {**config, **views}
    views['as_in_the_run'] = views == run_views
    views['count'] = len(torch_data.views(torch.from_numpy(test.images[:1]), config['tta'], config['tta_shift']))
    return config, views


def redraw(run_dir):
    """--redraw: the figures of run_dir's analysis.json drawn again (analyses.redraw); a problem ends the program in
    one line."""
    try:
        written = analyses.redraw(run_dir)
    except (ValueError, DataError) as error:
        sys.exit(f'error: {error}')
    print(f'{", ".join(written)} drawn again from {runkit.shown(os.path.join(run_dir, "analysis.json"))}')


def main(argv=None):
    args = parse_args(argv)
    if os.path.isdir(args.run_dir):  # one process at a time in a run folder: no training may replace the run meanwhile
        runkit.lock_output_dir(args.run_dir, flag='RUN_DIR')
    try:
        # checked before the work: a folder or a FIFO where an output goes is not written over
        for name in analyses.REDRAWN if args.redraw else OUTPUTS:
            path = os.path.join(args.run_dir, name)
            if os.path.lexists(path) and not os.path.isfile(path):
                sys.exit(f'error: {runkit.shown(path)} is not a plain file; move it away first')
        return redraw(args.run_dir) if args.redraw else evaluate(args)
    finally:
        runkit.release_output_dir(args.run_dir)


OUTPUTS = ('analysis.json', *analyses.REDRAWN, 'first_layer.png')


def evaluate(args):
    """The analysis of the run args.run_dir names, written into it with its figures."""
    path, kind, model, config, test, data, run_final_test_accuracy = load_run(args)
    check_analysis_replaced(args.run_dir, data, args.overwrite)
    config, views = chosen_views(args, path, kind, config, test)
    device = 'cpu'
    if kind in ('mlp_pytorch', 'convnet'):
        import torch

        from runkit import torch_data
        if args.threads:
            torch.set_num_threads(args.threads)
        device = torch_data.resolve_device(args.device)
    classes = datasets.CLASS_NAMES[data['dataset']]
    predicted, probabilities = models.predict(kind, model, config, test.images, device)
    analysis = {'run': args.run_dir, 'model': {'kind': kind, 'file': os.path.basename(path)}, 'data': data,
                **({'views': views} if views else {}), **analyse(predicted, test.labels, classes),
                'misclassified': shown_wrong(predicted, probabilities, test.labels, classes)}
    if run_final_test_accuracy is not None:
        analysis['run_final_test_accuracy'] = run_final_test_accuracy
    runkit.write_atomically(os.path.join(args.run_dir, 'analysis.json'),
                            lambda temporary: runkit.write_json(temporary, analysis))
    weights = models.first_layer(kind, model)
    first_layer = None if weights is None else weights[:analyses.SHOWN].reshape(-1, *test.images.shape[1:])
    raw = models.raw_test_images(data['dataset'], data['data_dir'])
    written = ['analysis.json', *analyses.write_figures(args.run_dir, analysis, raw, first_layer)]
    print(f'test accuracy {analysis["test_accuracy"]:.4f} on {analysis["num_test"]} {data["dataset"]} test images; '
          f'{", ".join(written)} in {runkit.shown(args.run_dir)}')
    return analysis


if __name__ == '__main__':
    main()
