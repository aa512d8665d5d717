"""Evaluate a trained run on its test set, and show what it confuses.

    python evaluate.py results/convnet_best                # the run's own data and preprocessing
    python evaluate.py runs/train_mlp_numpy --data_dir other/cifar-10-batches-py

Loads the model of a run folder (model.npz of the NumPy or the autodiff MLP, model.pt of the PyTorch MLP or the
ConvNet; never executing code from the file), rebuilds the test split as the run saw it (the dataset, folder and
preprocessing its flags name, unless --dataset or --data_dir say otherwise), predicts in eval mode the way the
training script evaluates (for the ConvNet, --tta and --tta_shift may name other views of each image to average
over than the run's evaluations did), and writes into the run folder:

    analysis.json         test accuracy, confusion matrix (counts: rows true class, columns predicted),
                          per-class precision and recall, the most frequent confusions; for the ConvNet, the
                          views averaged over and whether they are the run's
    confusion_matrix.png  the matrix, coloured by row (the share of each true class) with the counts written in
    misclassified.png     the test images the network got most confidently wrong (image data only)
    first_layer.png       the first layer's weights as images, one per hidden unit (the MLPs on images)
"""
import argparse
import importlib
import json
import os
import sys
from collections import namedtuple

import numpy as np
from tqdm import tqdm

import cifar10_utils
import train_utils

MODEL_FILES = ('model.npz', 'model.pt')
# Per kind of model: the training script that writes and loads it (its load_model and EVAL_BATCH), how many inputs
# the model takes, and its first layer's weights as (units, inputs) when it has one to show.
Kind = namedtuple('Kind', 'script inputs first_layer')
KINDS = {
    'mlp_numpy': Kind('train_mlp_numpy', lambda model: model.layers[0].in_features,
                      lambda model: model.layers[0].params['weight']),
    'autodiff': Kind('train_mlp_autodiff', lambda model: model.layers[0].in_features,
                     lambda model: model.layers[0].weight.value.T),
    'mlp_pytorch': Kind('train_mlp_pytorch', lambda model: model.n_inputs,
                        lambda model: model.layers[0].weight.detach().cpu().numpy()),
    'convnet': Kind('train_convnet_pytorch', lambda model: 3 * 32 * 32, None),
}


def find_model(folder):
    """(path, kind) of the run's model file; a ModelFileError when there is none or its kind is unknown."""
    paths = [os.path.join(folder, name) for name in MODEL_FILES if os.path.exists(os.path.join(folder, name))]
    if not paths:
        raise train_utils.ModelFileError(f'{folder} holds no model ({" or ".join(MODEL_FILES)}); a training script '
                                         f'of this project writes one at the end of a run')
    if len(paths) > 1:
        raise train_utils.ModelFileError(f'{folder} holds both {" and ".join(MODEL_FILES)}, the models of two runs; '
                                         f'expected one, beside the metrics.json of its run')
    if paths[0].endswith('.npz'):
        kind = train_utils.load_npz_model(paths[0])[0]
    else:
        import torch_utils
        kind = torch_utils.load_file(paths[0])['kind']
    if kind not in KINDS:
        raise train_utils.ModelFileError(f'{paths[0]} holds a model of unknown kind {kind!r}; '
                                         f'expected one of {", ".join(KINDS)}')
    return paths[0], kind


def run_split(config, dataset=None, data_dir=None, split='test'):
    """(the run's test or validation DataSet as its preprocessing leaves it, integer labels; the data's provenance).
    The data's fingerprint must match the one the run recorded, when it recorded one and the dataset is the run's."""
    trained_on = config.get('dataset')
    if trained_on not in cifar10_utils.DATASETS:
        raise train_utils.ModelFileError(f'the model file\'s flags name no dataset of this project ({trained_on!r})')
    dataset = dataset or trained_on
    data_dir = data_dir or (config.get('data_dir') if dataset == trained_on else None) \
        or cifar10_utils.DEFAULT_DATA_DIRS.get(dataset)
    preprocess = None if dataset == 'synth' else config.get('preprocess', 'mean_image')
    splits = cifar10_utils.load_dataset(dataset, data_dir, one_hot=False, preprocess=preprocess,
                                        validation_size=config.get('validation_size', 0))
    fingerprint = cifar10_utils.fingerprint(dataset, data_dir)
    recorded = config.get('data_fingerprint')
    if recorded and dataset == trained_on and recorded != fingerprint:
        raise cifar10_utils.DataError(f'the {dataset} data in {data_dir} (fingerprint {fingerprint}) is not the data '
                                      f'the run was trained on ({recorded}); give --data_dir the run\'s copy')
    if split == 'validation' and not splits[split].num_examples:
        raise cifar10_utils.DataError('the run holds out no validation split; train it with --validation_size')
    return splits[split], {'dataset': dataset, 'data_dir': data_dir, 'fingerprint': fingerprint}


def predict(kind, script, model, config, images, device='cpu'):
    """(predicted classes, class probabilities (N, classes)). The predictions are the argmax of what the training
    script's evaluation takes it of (probabilities, log-probabilities or logits), in its batches and dtype, so that
    on the machine and device the run was trained on the accuracy equals the run's final test accuracy."""
    batch_size = script.EVAL_BATCH or len(images)
    starts = tqdm(range(0, len(images), batch_size), desc='predicting', unit='batch', dynamic_ncols=True)
    if kind == 'mlp_numpy':
        flat = images.reshape(len(images), -1)
        probabilities = np.concatenate([model.forward(flat[start:start + batch_size]) for start in starts])
        return probabilities.argmax(axis=1), probabilities
    if kind == 'autodiff':
        scores = np.concatenate([script.log_probabilities(model, images[start:start + batch_size]) for start in starts])
        return scores.argmax(axis=1), np.exp(scores)
    import torch

    import torch_utils
    model.to(device)
    x, autocast_dtype = as_model_input(config, images, device)
    with torch.inference_mode():
        logits = torch.cat([torch_utils.predict(model, x[start:start + batch_size], autocast_dtype,
                                                mirror=config.get('tta', False), shift=config.get('tta_shift', 0))
                            for start in starts])
    return logits.argmax(dim=1).cpu().numpy(), torch.softmax(logits, dim=1).cpu().numpy()


def as_model_input(config, images, device='cpu'):
    """(images (N, C, H, W) as a tensor on device in the memory format of a PyTorch run's flags, the bfloat16 dtype
    when the run trained under autocast or else None): what its evaluations fed the model."""
    import torch
    memory_format = torch.channels_last if config.get('channels_last') else torch.contiguous_format
    return (torch.from_numpy(images).to(device).contiguous(memory_format=memory_format),
            torch.bfloat16 if config.get('amp') else None)


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


def plot_confusion(analysis, path, title):
    """The confusion matrix: colours are each true class's shares (rows sum to 1), numbers are counts."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    confusion, classes = np.array(analysis['confusion_matrix']), analysis['classes']
    shares = confusion / np.maximum(confusion.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(1.0 + 0.75 * len(classes), 0.6 + 0.7 * len(classes)))
    image = ax.imshow(shares, cmap='Blues', vmin=0, vmax=1)
    for (true, guess), count in np.ndenumerate(confusion):
        ax.text(guess, true, str(count), ha='center', va='center', fontsize=8,
                color='white' if shares[true, guess] > 0.5 else 'black')
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha='right')
    ax.set_yticks(range(len(classes)), classes)
    ax.set(xlabel='predicted class', ylabel='true class', title=title)
    fig.colorbar(image, ax=ax, label='share of the true class')
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def as_picture(image, stretch):
    """(C, H, W) -> (H, W, C) in [0, 1] for imshow: uint8 pixels as they are, or (stretch) any values stretched to
    the image's own range."""
    image = image.astype(np.float64)
    image = (image - image.min()) / max(image.max() - image.min(), 1e-12) if stretch else image / 255
    return image.transpose(1, 2, 0) if image.shape[0] == 3 else image[0]


def plot_images(images, captions, path, title, columns=8, stretch=False):
    """A grid of (C, H, W) images, each with its caption underneath (see as_picture for stretch). Drawn as one
    mosaic in one axes: a hundred axes take seconds to draw."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    pictures = [as_picture(image, stretch) for image in images]
    height, width = pictures[0].shape[:2]
    lines = max(caption.count('\n') + 1 for caption in captions)
    cell_width, cell_height = width + 4, height + 5 * lines + 2  # a caption line takes about 5 pixels' height
    rows = -(-len(pictures) // columns)
    mosaic = np.ones((rows * cell_height, columns * cell_width, *pictures[0].shape[2:]))
    fig, ax = plt.subplots(figsize=(1.3 * columns, 1.3 * rows * cell_height / cell_width + 0.4), layout='constrained')
    for i, (picture, caption) in enumerate(zip(pictures, captions)):
        top, left = (i // columns) * cell_height, (i % columns) * cell_width + 2
        mosaic[top:top + height, left:left + width] = picture
        ax.text(left + width / 2, top + height + 1, caption, ha='center', va='top', fontsize=7)
    ax.imshow(mosaic, cmap='gray', vmin=0, vmax=1, interpolation='nearest')
    ax.axis('off')
    ax.set_title(title)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def most_confidently_wrong(predicted, probabilities, labels, count=24):
    """Indices of the `count` misclassified examples with the highest predicted probability, highest first."""
    wrong = np.flatnonzero(predicted != labels)
    return wrong[np.argsort(-probabilities[wrong, predicted[wrong]], kind='stable')][:count]


def read_final_test_accuracy(run_dir):
    """The final test accuracy in run_dir's metrics.json, None without one; read before anything is predicted, so
    that a damaged file is a ModelFileError then rather than after the work."""
    path = os.path.join(run_dir, 'metrics.json')
    if not os.path.exists(path):
        return None
    try:
        with open(path) as f:
            metrics = json.load(f)
        return metrics.get('final_test_accuracy')
    except (ValueError, AttributeError, OSError) as error:
        raise train_utils.ModelFileError(f'{path} is not the metrics.json of a run ({type(error).__name__}: '
                                         f'{error}); move it away to evaluate the model alone') from None


def check_analysis_replaced(run_dir, data, overwrite):
    """An analysis.json already in run_dir is replaced by one on the same data (evaluate.py gives the same again),
    but by one on other data only with --overwrite; otherwise the program ends in one line."""
    path = os.path.join(run_dir, 'analysis.json')
    try:
        with open(path) as f:
            earlier = json.load(f)['data']
    except (OSError, ValueError, KeyError, TypeError):  # none, or not one of ours: nothing of value to keep
        return
    if earlier != data and not overwrite:
        sys.exit(f'error: {path} analyses {earlier.get("dataset")} in {earlier.get("data_dir")}, not '
                 f'{data["dataset"]} in {data["data_dir"]}; pass --overwrite to replace it')


def main(argv=None):
    parser = train_utils.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('run_dir', help='a run folder: its model.npz or model.pt, and metrics.json')
    parser.add_argument('--dataset', choices=cifar10_utils.DATASETS, default=None,
                        help="the data to evaluate on (default: the run's)")
    parser.add_argument('--data_dir', default=None, help="its folder (default: the run's, or the dataset's default)")
    parser.add_argument('--device', choices=('auto', 'cpu', 'cuda'), default='auto',
                        help='for the PyTorch models; auto takes the GPU when there is one')
    parser.add_argument('--overwrite', action='store_true',
                        help="replace an analysis of other data than this one's in the run folder")
    parser.add_argument('--tta', action=argparse.BooleanOptionalAction, default=None,
                        help="the ConvNet: average each image's predictions with its mirror image's "
                             "(default: as the run's evaluations did)")
    parser.add_argument('--tta_shift', type=train_utils.view_shift, default=None, metavar='PIXELS',
                        help="the ConvNet: average over the views moved diagonally by this many pixels too "
                             "(see train_convnet_pytorch.py; default: as the run's evaluations did)")
    args = parser.parse_args(argv)
    try:
        path, kind = find_model(args.run_dir)
        script = importlib.import_module(KINDS[kind].script)
        model, config = script.load_model(path)
        test, data = run_split(config, args.dataset, args.data_dir)
        n_inputs, expected = int(np.prod(test.images.shape[1:])), KINDS[kind].inputs(model)
        if n_inputs != expected:
            raise cifar10_utils.DataError(f'the model takes inputs of {expected} values, but the {data["dataset"]} '
                                          f'test images have {n_inputs}')
        run_final_test_accuracy = read_final_test_accuracy(args.run_dir)
    except (train_utils.ModelFileError, cifar10_utils.DataError) as error:
        sys.exit(f'error: {error}')
    check_analysis_replaced(args.run_dir, data, args.overwrite)
    views = {}
    if kind == 'convnet':
        run_views = {'tta': config.get('tta', False), 'tta_shift': config.get('tta_shift', 0)}
        views = {flag: run_views[flag] if getattr(args, flag) is None else getattr(args, flag) for flag in run_views}
        config = {**config, **views}
        views['as_in_the_run'] = views == run_views
        import torch

        import torch_utils
        views['count'] = len(torch_utils.views(torch.from_numpy(test.images[:1]), config['tta'], config['tta_shift']))
    elif args.tta is not None or args.tta_shift is not None:
        sys.exit(f'error: --tta and --tta_shift are for the ConvNet; {path} holds a model of kind {kind}')
    device = 'cpu'
    if kind in ('mlp_pytorch', 'convnet'):
        import torch_utils
        device = torch_utils.resolve_device(args.device)
    classes = cifar10_utils.CLASS_NAMES[data['dataset']]
    predicted, probabilities = predict(kind, script, model, config, test.images, device)
    analysis = {'run': args.run_dir, 'model': {'kind': kind, 'file': os.path.basename(path)}, 'data': data,
                **({'views': views} if views else {}), **analyse(predicted, test.labels, classes)}
    if run_final_test_accuracy is not None:
        analysis['run_final_test_accuracy'] = run_final_test_accuracy
    write = train_utils.write_atomically
    write(os.path.join(args.run_dir, 'analysis.json'), lambda temporary: train_utils.write_json(temporary, analysis))
    name = os.path.basename(os.path.normpath(args.run_dir))
    write(os.path.join(args.run_dir, 'confusion_matrix.png'), lambda temporary: plot_confusion(
        analysis, temporary, f'{name}: test accuracy {analysis["test_accuracy"]:.4f}'))
    written = ['analysis.json', 'confusion_matrix.png']
    raw = cifar10_utils.raw_test_images(data['dataset'], data['data_dir'])
    if raw is not None:
        wrong = most_confidently_wrong(predicted, probabilities, test.labels)
        write(os.path.join(args.run_dir, 'misclassified.png'), lambda temporary: plot_images(
            raw[wrong], [f'{classes[test.labels[i]]} -> {classes[predicted[i]]}\np = {probabilities[i].max():.3f}'
                         for i in wrong], temporary,
            f'{name}: the {len(wrong)} test images most confidently misclassified (true -> predicted)'))
        written.append('misclassified.png')
        if KINDS[kind].first_layer:
            weights = KINDS[kind].first_layer(model)
            shown = weights[:100].reshape(-1, *test.images.shape[1:])
            caption = (f'all {len(weights)} units' if len(shown) == len(weights) else
                       f'the first {len(shown)} of {len(weights)} units')
            write(os.path.join(args.run_dir, 'first_layer.png'), lambda temporary: plot_images(
                shown, [f'unit {i}' for i in range(len(shown))], temporary,
                f'{name}: the first layer\'s weights, {caption}, each stretched to its own range', columns=10,
                stretch=True))
            written.append('first_layer.png')
    print(f'test accuracy {analysis["test_accuracy"]:.4f} on {analysis["num_test"]} {data["dataset"]} test images; '
          f'{", ".join(written)} in {args.run_dir}')
    return analysis


if __name__ == '__main__':
    main()
