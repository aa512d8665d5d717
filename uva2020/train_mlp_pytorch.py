"""UvA 2020's train_mlp_pytorch.py: training and evaluation of the PyTorch MLP with ELU in its hidden layers, as this
template asks: its flags, accuracy(), train() and main().

    python train_mlp_pytorch.py                    # the NumPy script's defaults: a comparable run
    python train_mlp_pytorch.py --optimizer adamw --batch_norm --augment --lr_schedule onecycle ...

The flags and defaults of this folder's train_mlp_numpy.py, plus what tuning needs. The whole training set sits on
the device as one tensor. The run is kept by runkit.Run (in the folder above): metrics.json and curves.png in
--output_dir at every evaluation, a checkpoint to continue from with --resume, the trained model in model.pt.
"""
import math
import os
import sys

import numpy as np
import torch

_root_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _root_dir not in sys.path:  # the library and the root's modules, behind this folder's
    sys.path.insert(1, _root_dir)

import runkit
from mlp_pytorch import BATCH_NORMS, MLP
from runkit import datasets, flags, optimisers, torch_data

# Default constants
DNN_HIDDEN_UNITS_DEFAULT = '100'
LEARNING_RATE_DEFAULT = 1e-3
MAX_STEPS_DEFAULT = 1400
BATCH_SIZE_DEFAULT = 200
EVAL_FREQ_DEFAULT = 100
# Images per evaluation batch (evaluate.py predicts in the same batches: runkit.models.EVAL_BATCH)
EVAL_BATCH_SIZE = 1000

# The flags of a run, as the template's main() sets them; train() reads them when it is given none.
FLAGS = None


def accuracy(predictions, targets):
    """
    Computes the prediction accuracy, i.e. the average of correct predictions of the network.

    Args:
      predictions: 2D float tensor of size [batch_size, n_classes]
      targets: the class indices, 1D (or one-hot, 2D of size [batch_size, n_classes])
    Returns:
      accuracy: scalar float, the accuracy of predictions, i.e. the average correct predictions over the whole batch
    """
    labels = targets.argmax(dim=1) if targets.ndim == 2 else targets
    return (predictions.argmax(dim=1) == labels).float().mean().item()


def train(config=None, run=None):
    """
    Performs training and evaluation of MLP model with the optimiser, schedule and regularisation the flags choose,
    evaluating the model on the whole test set (and the validation split of --validation_size) each eval_freq
    iterations.

    Args:
      config: the flags, as parse_flags() returns them (default: the template's FLAGS, its missing flags at their
              defaults)
      run: the runkit.Run that keeps the run (default: one that keeps it in memory)
    Returns:
      the run's metrics: the losses and accuracies of every evaluation, and how the run ended
    """
    config = config or parse_flags(FLAGS or [])
    run = run or runkit.Run()
    np.random.seed(config.seed)
    if config.threads:
        torch.set_num_threads(config.threads)
    device = torch_data.resolve_device(config.device)
    torch.manual_seed(config.seed)

    cifar10, fingerprint = datasets.load(config, one_hot=False)
    batches = torch_data.DeviceBatches(*torch_data.split_to_device(cifar10['train'], device), config.batch_size,
                                       config.seed)
    held_out = {split: torch_data.split_to_device(cifar10[split], device) for split in datasets.held_out(cifar10)}
    # The thread count changes the order of floating-point sums, so a run repeats exactly only with the same count.
    config = flags.settle(config, cifar10['train'].num_examples, fingerprint, activation='elu', device=str(device),
                          torch_threads=torch.get_num_threads(), steps_per_epoch=batches.steps_per_epoch)
    n_inputs = batches.images[0].numel()
    runkit.check_network_size([n_inputs, *config.dnn_hidden_units, 10])
    model = MLP(n_inputs, config.dnn_hidden_units, 10, batch_norm=config.batch_norm, dropout=config.dropout,
                init=config.init).to(device)
    optimizer = optimisers.make_optimizer(config.optimizer, model.parameters(), config.learning_rate,
                                          config.momentum, config.weight_decay)
    scheduler = optimisers.scheduler_for(optimizer, config)
    loss_function = torch.nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    # model.pt, and checkpoint.pt (the model and up to two optimiser moments) with its temporary copy
    run.check_room(sum(p.numel() * p.element_size() for p in model.parameters()), copies=7)

    with run.training('mlp_pytorch', config, model=model, optimizer=optimizer, scheduler=scheduler, batches=batches):
        for step in run.progress(range(run.step + 1, config.max_steps + 1)):
            x, y = batches.next_batch()
            if config.augment:
                x = torch_data.augment(x)
            logits = model(x)
            loss = loss_function(logits, y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            loss = loss.item()
            if not math.isfinite(loss):
                raise runkit.Diverged(loss, step)
            if run.evaluates(step):
                run.log(step, train=(loss, accuracy(logits, y)),
                        **{split: torch_data.evaluate(model, *tensors, batch_size=EVAL_BATCH_SIZE)
                           for split, tensors in held_out.items()})
        run.save_model(model)
    return run.metrics


def parse_flags(argv=None):
    """The flags as a frozen flags.Config: parsed from argv (default: the command line), or the template's FLAGS (an
    argparse Namespace, --dnn_hidden_units as its comma-separated text) with the flags it lacks at their defaults."""
    parser = runkit.ArgumentParser(prog='train_mlp_pytorch.py', description='Train the PyTorch MLP on CIFAR-10.')
    parser.add_argument('--dnn_hidden_units', type=flags.int_list, default=DNN_HIDDEN_UNITS_DEFAULT,
                        help='Comma separated list of number of units in each hidden layer (empty: none)')
    parser.add_argument('--learning_rate', type=flags.positive_float, default=LEARNING_RATE_DEFAULT,
                        help='Learning rate')
    parser.add_argument('--max_steps', type=flags.positive_int, default=MAX_STEPS_DEFAULT,
                        help='Number of steps to run trainer.')
    parser.add_argument('--batch_size', type=flags.positive_int, default=BATCH_SIZE_DEFAULT,
                        help='Batch size to run trainer.')
    parser.add_argument('--eval_freq', type=flags.positive_int, default=EVAL_FREQ_DEFAULT,
                        help='Frequency of evaluation on the test set (and after the first and the last step)')
    parser.add_argument('--data_dir', default=None, help=flags.data_dir_help(datasets.CIFAR10_DATASETS))
    group = parser.add_argument_group('the network beyond the template')
    group.add_argument('--init', choices=('normal', 'kaiming'), default='normal',
                       help="weight initialisation: N(0, 1e-4^2) as in the assignment, or Kaiming's")
    group.add_argument('--batch_norm', nargs='?', const='torch', choices=BATCH_NORMS, default='none',
                       help="batch norm after every hidden linear layer: none, PyTorch's, or the project's "
                            "CustomBatchNormManualModule (a bare --batch_norm: torch)")
    group.add_argument('--dropout', type=flags.fraction, default=0.0,
                       help='dropout probability after every hidden activation')
    optimisers.add_optimiser_arguments(parser, optimizer='sgd', momentum=0.0)
    flags.add_training_arguments(parser)
    torch_data.add_torch_arguments(parser)
    runkit.add_run_arguments(parser, output_dir='runs/train_mlp_pytorch', resume=True)
    return flags.parse(parser, argv)


def main(argv=None):
    """
    Main function: parses the flags, opens the run in --output_dir (or continues the one --resume names) and trains;
    returns the run's metrics.
    """
    config = parse_flags(argv)
    with runkit.Run(config) as run:
        metrics = train(config, run)
    print(run.summary())
    return metrics


if __name__ == '__main__':
    main()
