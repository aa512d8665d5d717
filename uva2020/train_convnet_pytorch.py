"""UvA 2020's train_convnet_pytorch.py: training and evaluation of a Convolutional Neural Network in PyTorch, its
flags, accuracy(), train() and main(), for this folder's convnet_pytorch.ConvNet, the pre-activation ResNet of the
2020 text's Figure 5.

    python train_convnet_pytorch.py                 # the assignment's defaults: Adam, lr 1e-4, batch 32, 5000 steps
    python train_convnet_pytorch.py --augment --lr_schedule onecycle --label_smoothing 0.1 ...

The whole training set sits on the device as one tensor, so a step copies nothing from the host. Speed levers that
leave the maths alone: channels-last memory format and fused optimizers (both on by default), and bfloat16 autocast,
on by default only where bf16 is fast: an Ampere or newer GPU, or a CPU with AVX-512 BF16 or AMX. Older GPUs and
AVX2-only CPUs emulate bf16, several times slower than float32. The run is kept by runkit.Run (in the folder above):
metrics.json and curves.png in --output_dir at every evaluation, a checkpoint to continue from with --resume, the
trained model in model.pt.
"""
import argparse
import math
import os
import sys
import time

_root_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _root_dir not in sys.path:  # the library and the root's modules, behind this folder's
    sys.path.insert(1, _root_dir)

import numpy as np
import torch

import runkit
from convnet_pytorch import ConvNet
from runkit import datasets, flags, optimisers, torch_data

# Default constants
LEARNING_RATE_DEFAULT = 1e-4
BATCH_SIZE_DEFAULT = 32
MAX_STEPS_DEFAULT = 5000
EVAL_FREQ_DEFAULT = 500
OPTIMIZER_DEFAULT = 'adam'
# Images per evaluation batch: a few hundred beat batches of 1000 by about 30% on the CPU (cache-sized
# activations). evaluate.py predicts in the same batches (runkit.models.EVAL_BATCH).
EVAL_BATCH_SIZE = 200

# The flags of a run, as the template's main() sets them; train() reads them when it is given none.
FLAGS = None


def accuracy(predictions, targets):
    """
    Computes the prediction accuracy, i.e. the average of correct predictions of the network.

    Args:
      predictions: 2D float tensor of size [batch_size, n_classes]
      targets: the class indices, 1D (or one-hot, 2D of size [batch_size, n_classes])
    Returns:
      accuracy: scalar float tensor, the accuracy of predictions, i.e. the average correct predictions over the
                whole batch (a tensor, so that the step reads it and the loss from the device in one go)
    """
    labels = targets.argmax(dim=1) if targets.ndim == 2 else targets
    return (predictions.argmax(dim=1) == labels).float().mean()


def train(config=None, run=None):
    """
    Performs training and evaluation of ConvNet model, evaluating the model on the whole test set (and the
    validation split of --validation_size) each eval_freq iterations, on the views --tta and --tta_shift name.

    Args:
      config: the flags, as parse_flags() returns them (default: the template's FLAGS, its missing flags at their
              defaults)
      run: the runkit.Run that keeps the run (default: one that keeps it in memory)
    Returns:
      the run's metrics: the losses and accuracies of every evaluation, how the run ended, and in its config the
      training throughput (timing)
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
    memory_format = torch.channels_last if config.channels_last else torch.contiguous_format
    held_out = {split: torch_data.split_to_device(cifar10[split], device) for split in datasets.held_out(cifar10)}
    held_out = {split: (images.contiguous(memory_format=memory_format), labels)
                for split, (images, labels) in held_out.items()}
    # The training throughput (steps, seconds, images per second), kept up to date in the config metrics.json
    # records and in the checkpoint, so that a resumed run counts the steps before its interruption too.
    timing = {'train_steps': 0, 'train_seconds': 0.0, 'train_images_per_second': None}
    # network='preact_resnet' tells evaluate.py to rebuild this folder's ConvNet, not the root's Table 1.
    config = flags.settle(config, cifar10['train'].num_examples, fingerprint,
                          amp=torch_data.bf16_is_fast(device) if config.amp is None else config.amp,
                          device=str(device), torch_threads=torch.get_num_threads(), network='preact_resnet',
                          steps_per_epoch=batches.steps_per_epoch, timing=timing)
    model = ConvNet(3, 10).to(device, memory_format=memory_format)
    optimizer = optimisers.make_optimizer(config.optimizer, model.parameters(), config.learning_rate,
                                          config.momentum, config.weight_decay, fused=config.fused,
                                          nesterov=config.nesterov)
    scheduler = optimisers.scheduler_for(optimizer, config)
    loss_function = torch.nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    forward = torch.compile(model) if config.compile else model
    autocast_dtype = torch.bfloat16 if config.amp else None
    # model.pt, and checkpoint.pt (the model and up to two optimiser moments) with its temporary copy
    run.check_room(sum(p.numel() * p.element_size() for p in model.parameters()), copies=7)

    with run.training('convnet', config, model=model, optimizer=optimizer, scheduler=scheduler, batches=batches,
                      timing=timing):
        for step in run.progress(range(run.step + 1, config.max_steps + 1)):
            start = time.perf_counter()
            x, y = batches.next_batch()
            if config.augment:
                x = torch_data.augment(x)
            x = x.contiguous(memory_format=memory_format)
            with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=config.amp):
                logits = forward(x)
            loss = loss_function(logits.float(), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            loss, batch_accuracy = torch.stack([loss.detach(), accuracy(logits, y)]).tolist()  # one device sync
            timing['train_steps'] += 1
            timing['train_seconds'] += time.perf_counter() - start
            timing['train_images_per_second'] = timing['train_steps'] * config.batch_size / timing['train_seconds']
            if not math.isfinite(loss):
                raise runkit.Diverged(loss, step)
            if run.evaluates(step):
                run.log(step, train=(loss, batch_accuracy),
                        **{split: torch_data.evaluate(forward, *tensors, batch_size=EVAL_BATCH_SIZE,
                                                      autocast_dtype=autocast_dtype, mirror=config.tta,
                                                      shift=config.tta_shift)
                           for split, tensors in held_out.items()})
        run.save_model(model)
    return run.metrics


def parse_flags(argv=None):
    """The flags as a frozen flags.Config: parsed from argv (default: the command line), or the template's FLAGS (an
    argparse Namespace) with the flags it lacks at their defaults."""
    parser = runkit.ArgumentParser(prog='train_convnet_pytorch.py', description="Train Figure 5's pre-activation "
                                                                                'ResNet ConvNet on CIFAR-10.')
    parser.add_argument('--learning_rate', type=flags.positive_float, default=LEARNING_RATE_DEFAULT,
                        help='Learning rate')
    parser.add_argument('--max_steps', type=flags.positive_int, default=MAX_STEPS_DEFAULT,
                        help='Number of steps to run trainer.')
    parser.add_argument('--batch_size', type=flags.positive_int, default=BATCH_SIZE_DEFAULT,
                        help='Batch size to run trainer.')
    parser.add_argument('--eval_freq', type=flags.positive_int, default=EVAL_FREQ_DEFAULT,
                        help='Frequency of evaluation on the test set (and after the first and the last step)')
    parser.add_argument('--data_dir', default=None, help=flags.data_dir_help(datasets.CIFAR10_DATASETS))
    optimisers.add_optimiser_arguments(parser, optimizer=OPTIMIZER_DEFAULT, momentum=0.9)
    switch = argparse.BooleanOptionalAction
    group = parser.add_argument_group('the network and its speed')
    group.add_argument('--nesterov', action=switch, default=False,
                       help="for sgd with momentum: Nesterov's momentum, the gradient taken at the look-ahead point")
    group.add_argument('--tta', action=switch, default=False,
                       help='evaluate each image and its mirror image and average the predicted probabilities '
                            '(test-time augmentation; the training loss is unaffected)')
    group.add_argument('--tta_shift', type=flags.view_shift, default=0, metavar='PIXELS',
                       help='evaluate each image also moved diagonally by this many pixels down-right and up-left '
                            '(zero fill, as the training crops) and average the predicted probabilities over '
                            'those views too: with --tta, six views')
    group.add_argument('--amp', action=switch, default=None,
                       help='bfloat16 autocast (default: on for an Ampere or newer GPU, or a CPU with AVX-512 BF16 '
                            'or AMX, where bf16 is fast; off elsewhere)')
    group.add_argument('--fused', action=switch, default=True,
                       help="the optimiser's fused implementation: each update in one kernel, the same arithmetic")
    group.add_argument('--channels_last', action=switch, default=True,
                       help='NHWC memory format for the model and its inputs')
    group.add_argument('--compile', action=switch, default=False,
                       help='torch.compile the model (slow to start, needs a C++ compiler on the CPU)')
    flags.add_training_arguments(parser)
    torch_data.add_torch_arguments(parser)
    runkit.add_run_arguments(parser, output_dir='runs/train_convnet_pytorch', resume=True)
    config = flags.parse(parser, argv)
    if config.nesterov and (config.optimizer != 'sgd' or config.momentum == 0):
        sys.exit(f'error: --nesterov needs --optimizer sgd with a --momentum above 0, not --optimizer '
                 f'{config.optimizer}' + (f' with --momentum {config.momentum}' if config.optimizer == 'sgd' else ''))
    return config


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
