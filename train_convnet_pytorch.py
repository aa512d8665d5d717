"""Train the Table 1 ConvNet on CIFAR-10.

    python train_convnet_pytorch.py                 # the assignment's defaults: Adam, lr 1e-4, batch 32, 5000 steps
    python train_convnet_pytorch.py --augment --lr_schedule onecycle --label_smoothing 0.1 ...

The whole training set sits on the device as one tensor, so a step copies nothing from the host.
Speed levers that leave the maths alone: channels-last memory format and fused optimizers (both on by
default), and bfloat16 autocast, on by default only where bf16 is fast: an Ampere or newer GPU, or a CPU
with AVX-512 BF16 or AMX. Older GPUs and AVX2-only CPUs emulate bf16, several times slower than float32.
"""
import argparse
import sys
import time

import torch

import torch_utils
import train_utils
from convnet_pytorch import BATCH_NORMS, ConvNet

# Evaluation batches of a few hundred images beat batches of 1000 by ~30% on the CPU (cache-sized activations);
# evaluate.py predicts in the same batches.
EVAL_BATCH = 200


def build_parser():
    parser = train_utils.ArgumentParser(description=__doc__.split('\n')[0])
    train_utils.add_common_arguments(parser, learning_rate=1e-4, max_steps=5000, batch_size=32,
                                     eval_freq=500, output_dir='runs/train_convnet_pytorch')
    parser.add_argument('--optimizer', choices=torch_utils.OPTIMIZERS, default='adam')
    parser.add_argument('--momentum', type=train_utils.non_negative_float, default=0.9, help='for sgd')
    parser.add_argument('--nesterov', action=argparse.BooleanOptionalAction, default=False,
                        help="for sgd with momentum: Nesterov's momentum, the gradient taken at the look-ahead point")
    parser.add_argument('--weight_decay', type=train_utils.non_negative_float, default=0.0)
    parser.add_argument('--label_smoothing', type=train_utils.fraction, default=0.0,
                        help='in [0, 1); the train loss recorded is the smoothed one')
    parser.add_argument('--augment', action=argparse.BooleanOptionalAction, default=False,
                        help='random crops (4 pixels of padding) and horizontal flips of the training images')
    parser.add_argument('--batch_norm', choices=BATCH_NORMS, default='torch',
                        help="nn.BatchNorm2d, or the project's CustomBatchNormManualModule")
    parser.add_argument('--tta', action=argparse.BooleanOptionalAction, default=False,
                        help='evaluate each image and its mirror image and average the predicted probabilities '
                             '(test-time augmentation; the training loss is unaffected)')
    parser.add_argument('--tta_shift', type=train_utils.view_shift, default=0, metavar='PIXELS',
                        help='evaluate each image also moved diagonally by this many pixels down-right and up-left '
                             '(zero fill, as the training crops) and average the predicted probabilities over '
                             'those views too: with --tta, six views')
    torch_utils.add_schedule_arguments(parser)
    torch_utils.add_device_argument(parser)
    parser.add_argument('--amp', action=argparse.BooleanOptionalAction, default=None,
                        help='bfloat16 autocast (default: on for an Ampere or newer GPU, or a CPU with AVX-512 BF16 '
                             'or AMX, where bf16 is fast; off elsewhere)')
    parser.add_argument('--fused', action=argparse.BooleanOptionalAction, default=True,
                        help="the optimiser's fused implementation: each update in one kernel, the same arithmetic")
    parser.add_argument('--channels_last', action=argparse.BooleanOptionalAction, default=True,
                        help='NHWC memory format for the model and its inputs')
    parser.add_argument('--compile', action=argparse.BooleanOptionalAction, default=False,
                        help='torch.compile the model (slow to start, needs a C++ compiler on the CPU)')
    parser.add_argument('--threads', type=train_utils.thread_count, default=None,
                        help="CPU threads (default: PyTorch's, one per core); 1 is much faster on a "
                             "machine whose cores other processes keep busy")
    torch_utils.add_resume_argument(parser)
    return parser


def bf16_is_fast(device):
    """Whether bfloat16 autocast speeds `device` up rather than slowing it down.

    GPUs from Ampere on, and CPUs with AVX-512 BF16 or AMX instructions, compute in bf16 natively; older GPUs
    (T4, V100) and other CPUs emulate it, which made a training step 5-14x slower on an AVX2-only EPYC.
    """
    if device.type == 'cuda':
        return torch.cuda.is_bf16_supported(including_emulation=False)
    return torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()


def prepare(args):
    """Data, model and optimiser for the parsed flags: (config, train_step, evaluate, saving) for train_utils.train,
    saving being its save_model, checkpoint and resumed (--resume).

    config carries the resolved device and amp setting, and a 'timing' dict that train_step keeps
    up to date (train_utils.train writes config into metrics.json at the end).
    """
    if args.nesterov and (args.optimizer != 'sgd' or args.momentum == 0):
        sys.exit(f'error: --nesterov needs --optimizer sgd with a --momentum above 0, not --optimizer {args.optimizer}'
                 + (f' with --momentum {args.momentum}' if args.optimizer == 'sgd' else ''))
    torch_utils.resume_into(args)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch_utils.resolve_device(args.device)
    amp = bf16_is_fast(device) if args.amp is None else args.amp
    autocast_dtype = torch.bfloat16 if amp else None
    memory_format = torch.channels_last if args.channels_last else torch.contiguous_format
    torch_utils.seed_everything(args.seed)
    data = train_utils.load_data(args, one_hot=False)
    train_images, train_labels = torch_utils.split_to_device(data['train'], device)
    batches = torch_utils.DeviceBatches(train_images, train_labels, args.batch_size, args.seed)
    held_out = {}
    for name in train_utils.held_out_splits(data):
        images, labels = torch_utils.split_to_device(data[name], device)
        held_out[name] = images.contiguous(memory_format=memory_format), labels

    model = ConvNet(3, 10, batch_norm=args.batch_norm).to(device, memory_format=memory_format)
    optimizer = torch_utils.make_optimizer(args.optimizer, model.parameters(), args.learning_rate, args.momentum,
                                           args.weight_decay, fused=args.fused, nesterov=args.nesterov)
    scheduler = torch_utils.scheduler_from_flags(optimizer, args)
    loss_function = torch.nn.CrossEntropyLoss(label_smoothing=args.label_smoothing)
    forward = torch.compile(model) if args.compile else model
    timing = {'train_steps': 0, 'train_seconds': 0.0, 'train_images_per_second': None}

    def train_step(step):
        start = time.perf_counter()
        x, y = batches.next_batch()
        if args.augment:
            x = torch_utils.augment(x)
        x = x.contiguous(memory_format=memory_format)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            logits = forward(x)
        loss = loss_function(logits.float(), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        accuracy = (logits.argmax(dim=1) == y).float().mean()
        loss, accuracy = torch.stack([loss.detach(), accuracy]).tolist()  # one device sync, not two
        timing['train_steps'] += 1
        timing['train_seconds'] += time.perf_counter() - start
        timing['train_images_per_second'] = timing['train_steps'] * args.batch_size / timing['train_seconds']
        return loss, accuracy

    def evaluate():
        return {name: torch_utils.evaluate(forward, *tensors, batch_size=EVAL_BATCH, autocast_dtype=autocast_dtype,
                                           mirror=args.tta, shift=args.tta_shift)
                for name, tensors in held_out.items()}

    config = {**vars(args), 'amp': amp, 'device': str(device), 'torch_threads': torch.get_num_threads(),
              'steps_per_epoch': batches.steps_per_epoch, 'timing': timing}
    saving = torch_utils.saving('convnet', config, model, optimizer, scheduler, batches, args)
    if saving['resumed']:  # the resumed run's throughput counts the steps before the interruption too
        timing.update(saving['resumed'][0]['config']['timing'])
    return config, train_step, evaluate, saving


def load_model(path):
    """(the ConvNet in a run's model.pt, in eval mode and its memory format, the run's flags); a ModelFileError when
    the file cannot be read or does not fit."""
    loaded = torch_utils.load_file(path)
    if loaded['kind'] != 'convnet':
        raise train_utils.ModelFileError(f'{path} holds a {loaded["kind"]} model, not the ConvNet')
    config = loaded['config']
    with train_utils.model_file_errors(path):
        model = ConvNet(3, 10, batch_norm=config['batch_norm'])
        torch_utils.load_state(model, loaded['state_dict'], path)
        memory_format = torch.channels_last if config['channels_last'] else torch.contiguous_format
    return model.to(memory_format=memory_format).eval(), config


def main(argv=None):
    args = build_parser().parse_args(argv)
    config, train_step, evaluate, saving = prepare(args)
    return train_utils.train_and_report(config, train_step, evaluate, args, **saving)


if __name__ == '__main__':
    main()
