"""Training-step speed of train_convnet_pytorch.py's loop against a textbook PyTorch loop.

    python benchmarks/bench_convnet.py                          # the CPU, and the GPU when there is one
    python benchmarks/bench_convnet.py --steps 40 --batch_size 128 --device cpu --threads 1
    python benchmarks/bench_convnet.py --device cpu --profile     # and where one of our steps spends its time

Both loops train the same ConvNet with Adam at the same batch size, on the fake_cifar10 data set.
Ours is the script's own train_step: channels-last, fused Adam, bfloat16 autocast where bf16 is
fast, batches drawn from tensors already on the device. The reference is what a tutorial writes:
NCHW float32, default Adam, every batch copied from NumPy to the device. The two alternate in
blocks of a few steps, so a machine that is busier at one moment than another slows both alike.
"""
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np
import torch

import cifar10_utils
import trainers
from convnet_pytorch import ConvNet
from runkit import flags
from timing import cpu_name

BLOCK = 5  # steps per block; each loop runs one block, then the other


def reference_step(device, batch_size, seed):
    """A textbook training step: NCHW float32, the host's NumPy batch copied over every step."""
    torch.manual_seed(seed)
    data = cifar10_utils.get_synthetic(seed=seed)['train']
    model = ConvNet(3, 10).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    loss_function = torch.nn.CrossEntropyLoss()

    def step():
        x, t = data.next_batch(batch_size)
        x = torch.from_numpy(x).to(device)
        y = torch.from_numpy(np.argmax(t, axis=1)).to(device)
        logits = model(x)
        loss = loss_function(logits, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


def our_step(device, batch_size, seed, output_dir):
    """train_convnet_pytorch.py's train_step with its default settings, and those settings. Nothing is written to
    output_dir; the script only insists on one that holds no run."""
    run = trainers.prepare('convnet', ['--dataset', 'fake_cifar10', '--device', device.type, '--batch_size',
                                       str(batch_size), '--seed', str(seed), '--output_dir', output_dir])
    return (lambda: run.train_step(0)), run.record


def images_per_second(step, batch_size, blocks):
    """Yield, block by block, the images per second of BLOCK calls of step (one warm-up block first)."""
    for _ in range(BLOCK):
        step()
    for _ in range(blocks):
        start = time.perf_counter()
        for _ in range(BLOCK):
            step()
        yield BLOCK * batch_size / (time.perf_counter() - start)


def profile(step, device, rows=15):
    """Print the operators one block of step spends its time in, the most expensive first."""
    activities = [torch.profiler.ProfilerActivity.CPU]
    if device.type == 'cuda':
        activities.append(torch.profiler.ProfilerActivity.CUDA)
    with torch.profiler.profile(activities=activities) as profiler:
        for _ in range(BLOCK):
            step()
    sort_by = 'self_device_time_total' if device.type == 'cuda' else 'self_cpu_time_total'
    print(f'  where {BLOCK} of our steps spend their time ({device.type}):')
    print(profiler.key_averages().table(sort_by=sort_by, row_limit=rows))


def compare(device, steps, batch_size, show_profile=False):
    with tempfile.TemporaryDirectory() as output_dir:
        ours, config = our_step(device, batch_size, 0, output_dir)
    reference = reference_step(device, batch_size, seed=0)
    blocks = max(1, steps // BLOCK)
    # zip alternates the two generators: a block of ours, a block of the reference, and so on.
    rates = list(zip(images_per_second(ours, batch_size, blocks),
                     images_per_second(reference, batch_size, blocks)))
    ours_rate = statistics.median(rate for rate, _ in rates)
    reference_rate = statistics.median(rate for _, rate in rates)
    print(f'{device.type}, batch {batch_size}, {blocks * BLOCK} timed steps each '
          f'(median of {blocks} blocks of {BLOCK}), {torch.get_num_threads()} threads')
    print(f'  reference (NCHW float32, default Adam, host batches): {reference_rate:8.1f} images/s')
    print(f'  ours (channels_last={config["channels_last"]}, amp={config["amp"]}, fused Adam, '
          f'device batches): {ours_rate:8.1f} images/s')
    print(f'  ours / reference: {ours_rate / reference_rate:.2f}x')
    if show_profile:
        profile(ours, device)


def main(argv=None):
    parser = flags.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--steps', type=flags.positive_int, default=40,
                        help='timed steps per loop and device (rounded down to whole blocks of 5)')
    parser.add_argument('--batch_size', type=flags.positive_int, default=32)
    parser.add_argument('--device', choices=('all', 'cpu', 'cuda'), default='all',
                        help='all: the CPU, and CUDA when there is a GPU')
    flags.add_threads_argument(parser)
    parser.add_argument('--profile', action='store_true',
                        help='also print where one block of our steps spends its time (torch.profiler)')
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device == 'cuda' and not torch.cuda.is_available():
        parser.error('--device cuda was asked for, but PyTorch sees no GPU here')
    print(f'CPU: {cpu_name()}; AVX-512 BF16: {torch.cpu._is_avx512_bf16_supported()}, '
          f'AMX: {torch.cpu._is_amx_tile_supported()}; torch {torch.__version__}')
    names = {'all': ['cpu'] + ['cuda'] * torch.cuda.is_available(), 'cpu': ['cpu'], 'cuda': ['cuda']}
    for name in names[args.device]:
        if name == 'cuda':
            print(f'GPU: {torch.cuda.get_device_name()}')
        compare(torch.device(name), args.steps, args.batch_size, args.profile)


if __name__ == '__main__':
    main()
