"""
UvA 2021's compare_batch_norm.py: the PyTorch MLP with and without batch normalization for three network sizes, as
its question 2.2 asks. train_models(results_filename) trains the six models and saves their accuracies per epoch;
plot_results(results_filename) draws the training and the validation accuracies, each in a figure of its own.

    python compare_batch_norm.py                     # the text's settings: 20 epochs at lr 0.1, batch 128, seed 42
    python compare_batch_norm.py --epochs 2 --output_dir runs/compare_try

--output_dir gets metrics.json (the results file), train_accuracy.png, validation_accuracy.png and a run folder per
model (its own metrics.json and curves.png). The results file is written after every model, and a rerun with the
same settings keeps the models it holds: a comparison stopped part-way continues where it stopped.
"""
import json
import os
import sys

_root_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _root_dir not in sys.path:  # the library and the root's modules, behind this folder's
    sys.path.insert(1, _root_dir)
import cifar10_utils
import runkit
import train_mlp_pytorch

HIDDEN_DIMS = ([128], [256, 128], [512, 256, 128])  # the text's three configurations
LR, BATCH_SIZE, EPOCHS, SEED = 0.1, 128, 20, 42
FILENAME = 'metrics.json'
SCRIPT = os.path.splitext(os.path.basename(__file__))[0]  # the template's name of this file


def model_name(hidden_dims, use_batch_norm):
    """'mlp_512_256_128_batch_norm': a model's key in the results and its run folder's name."""
    return 'mlp_' + '_'.join(map(str, hidden_dims)) + ('_batch_norm' if use_batch_norm else '')


def train_models(results_filename, epochs=EPOCHS, data_dir=os.path.relpath(cifar10_utils.DATA_DIR_DEFAULT),
                 runs_dir=None):
    """
    Trains the MLP of each of HIDDEN_DIMS without and with batch normalization and saves the results.

    Args:
      results_filename: the JSON file to write: {'settings': the training settings, 'models': {model_name:
                        {'hidden_dims', 'use_batch_norm', 'train_accuracies' (the mean over each epoch's batches),
                        'val_accuracies' (after each epoch), 'best_epoch', 'test_accuracy' (of the best epoch)}}}
      epochs: epochs per model (the text asks for 20)
      data_dir: the folder holding CIFAR-10
      runs_dir: a folder for a run folder per model (its metrics.json and curves.png; default: none, the runs are
                kept in memory, so that the template's train_models('results.txt') writes that file alone)
    Returns:
      the results, as saved
    """
    settings = dict(lr=LR, batch_size=BATCH_SIZE, epochs=epochs, seed=SEED)
    results = {'settings': settings, 'models': {}}
    if os.path.isfile(results_filename):
        with open(results_filename) as f:
            earlier = json.load(f)
        if isinstance(earlier, dict) and earlier.get('settings') == settings:  # continue a comparison stopped part-way
            results = earlier
    for hidden_dims in HIDDEN_DIMS:
        for use_batch_norm in (False, True):
            name = model_name(hidden_dims, use_batch_norm)
            if name in results['models']:
                continue
            run_dir = runs_dir and os.path.join(runs_dir, name)
            with runkit.Run({'output_dir': run_dir, 'overwrite': True} if run_dir else None) as run:
                _, val_accuracies, test_accuracy, logging_dict = train_mlp_pytorch.train(
                    hidden_dims, LR, use_batch_norm, BATCH_SIZE, epochs, SEED, data_dir, run)
            results['models'][name] = dict(hidden_dims=hidden_dims, use_batch_norm=use_batch_norm,
                                           train_accuracies=logging_dict['train_accuracy_per_epoch'],
                                           val_accuracies=val_accuracies, best_epoch=logging_dict['best_epoch'],
                                           test_accuracy=test_accuracy)
            runkit.write_json(results_filename, results)
    return results


def plot_results(results_filename):
    """
    Plots the training and the validation accuracy of every model against the epoch, in two figures beside the
    results file (train_accuracy.png, validation_accuracy.png): one colour per network size, dashed without and
    solid with batch normalization.

    Args:
      results_filename: the JSON file train_models wrote
    """
    with open(results_filename) as f:
        models = json.load(f)['models']
    plt = runkit.pyplot()
    folder = os.path.dirname(os.path.abspath(results_filename))
    colours = {str(hidden_dims): f'C{i}' for i, hidden_dims in enumerate(HIDDEN_DIMS)}
    for key, label, filename in (('train_accuracies', 'training accuracy (mean over the epoch)', 'train_accuracy.png'),
                                 ('val_accuracies', 'validation accuracy', 'validation_accuracy.png')):
        fig, ax = plt.subplots(figsize=(5.5, 3.4))
        for model in models.values():
            epochs = range(1, len(model[key]) + 1)
            ax.plot(epochs, model[key], color=colours.get(str(model['hidden_dims']), 'k'),
                    linestyle='-' if model['use_batch_norm'] else '--',
                    label=f"{model['hidden_dims']}" + (', batch norm' if model['use_batch_norm'] else ''))
        ax.set_xlabel('epoch')
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend(fontsize='small', ncol=2)
        fig.tight_layout()
        runkit.write_atomically(os.path.join(folder, filename), lambda path: fig.savefig(path, dpi=150, format='png'))
        plt.close(fig)


def main(argv=None):
    """Trains the models into --output_dir (continuing a comparison stopped part-way) and plots them."""
    parser = runkit.ArgumentParser(prog=f'{SCRIPT}.py', description='The PyTorch MLP with and without batch '
                                                                             'normalization, for three network sizes.')
    parser.add_argument('--epochs', default=EPOCHS, type=int, help='epochs per model (default: %(default)s)')
    parser.add_argument('--data_dir', default=os.path.relpath(cifar10_utils.DATA_DIR_DEFAULT),
                        help="the folder holding CIFAR-10 (default: the project's own copy, ../cifar10/)")
    parser.add_argument('--output_dir', default=f'runs/{SCRIPT}',
                        help='where the results, the figures and the runs go (default: %(default)s)')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace the comparison --output_dir holds (without: continue one of the same settings)')
    args = parser.parse_args(argv)
    if args.epochs < 1:
        parser.error(f'--epochs must be at least 1, got {args.epochs}')
    results_filename = os.path.join(args.output_dir, FILENAME)
    if os.path.isfile(results_filename) and args.overwrite:
        os.remove(results_filename)
    elif os.path.exists(results_filename):
        try:
            with open(results_filename) as f:
                settings = json.load(f)['settings']
        except (OSError, ValueError, KeyError, TypeError) as error:
            parser.error(f'{results_filename} holds no comparison ({error}); give another --output_dir or --overwrite')
        if settings['epochs'] != args.epochs:
            parser.error(f'{args.output_dir} holds a comparison with --epochs {settings["epochs"]}; give that to '
                         f'continue it, or --overwrite to replace it')
    os.makedirs(args.output_dir, exist_ok=True)
    try:
        results = train_models(results_filename, args.epochs, args.data_dir, runs_dir=args.output_dir)
    except cifar10_utils.DataError as error:
        sys.exit(f'error: {error}')
    plot_results(results_filename)
    for name, model in results['models'].items():
        print(f"{name}: best validation accuracy {max(model['val_accuracies']):.4f} (epoch {model['best_epoch']}), "
              f"its test accuracy {model['test_accuracy']:.4f}")
    return results


if __name__ == '__main__':
    main()
