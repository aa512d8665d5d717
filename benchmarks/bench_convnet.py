"""Training-step speed of train_convnet_pytorch.py's loop against a textbook PyTorch loop.

    python benchmarks/bench_convnet.py                          # the CPU, and the GPU when there is one
    python benchmarks/bench_convnet.py --steps 40 --batch_size 128 --device cpu --threads 1
    python benchmarks/bench_convnet.py --device cpu --profile     # and where one of our steps spends its time

Both loops train the same ConvNet with Adam at the same batch size, on the fake_cifar10 data set.
Ours is the script's own loop, train() with its default flags: channels-last, fused Adam, bfloat16
autocast where bf16 is fast, batches drawn from tensors already on the device. The reference is what a tutorial writes:
NCHW float32, default Adam, every batch copied from NumPy to the device. The two alternate in
blocks of a few steps, so a machine that is busier at one moment than another slows both alike.
"""
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np
import torch

import cifar10_utils
import runkit
import train_convnet_pytorch
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


class Interleaved(runkit.Run):
    """A run in memory whose steps alternate with the reference's: after a warm-up block of BLOCK of the loop's
    steps, each block of BLOCK of them is timed and followed by a timed block of the reference's, `blocks` times;
    with a profiler, one more block of the loop's steps is profiled. rates: (ours, reference) images per second."""

    def __init__(self, reference, batch_size, blocks, profiler=None):
        super().__init__()
        self.reference, self.batch_size, self.blocks, self.profiler, self.rates = \
            reference, batch_size, blocks, profiler, []

    def steps_needed(self):
        """The loop's steps: a warm-up block, the timed ones, a profiled one, and the last (which evaluates)."""
        return BLOCK * (self.blocks + 1 + bool(self.profiler)) + 1

    def progress(self, iterable):
        items = super().progress(iterable)
        for _ in range(BLOCK):  # the warm-up, and the evaluation after the first step
            yield next(items)
        for _ in range(self.blocks):
            start = time.perf_counter()
            for _ in range(BLOCK):
                yield next(items)
            ours = time.perf_counter() - start
            start = time.perf_counter()
            for _ in range(BLOCK):
                self.reference()
            self.rates.append((BLOCK * self.batch_size / ours, BLOCK * self.batch_size / (time.perf_counter() - start)))
        if self.profiler:
            with self.profiler:
                for _ in range(BLOCK):
                    yield next(items)
        yield from items


def profiler(device):
    """A torch profiler of the CPU's operators, and the GPU's on CUDA."""
    activities = [torch.profiler.ProfilerActivity.CPU]
    if device.type == 'cuda':
        activities.append(torch.profiler.ProfilerActivity.CUDA)
    return torch.profiler.profile(activities=activities)


def compare(device, steps, batch_size, show_profile=False):
    reference = reference_step(device, batch_size, seed=0)
    run = Interleaved(reference, batch_size, max(1, steps // BLOCK), profiler(device) if show_profile else None)
    # train_convnet_pytorch.py's own loop with its defaults, evaluating after its first and last step only
    config = train_convnet_pytorch.parse_flags(['--dataset', 'fake_cifar10', '--device', device.type, '--batch_size',
                                                str(batch_size), '--seed', '0', '--max_steps', str(run.steps_needed()),
                                                '--eval_freq', str(run.steps_needed())])
    metrics = train_convnet_pytorch.train(config, run)
    ours_rate = statistics.median(rate for rate, _ in run.rates)
    reference_rate = statistics.median(rate for _, rate in run.rates)
    print(f'{device.type}, batch {batch_size}, {len(run.rates) * BLOCK} timed steps each '
          f'(median of {len(run.rates)} blocks of {BLOCK}), {torch.get_num_threads()} threads')
    print(f'  reference (NCHW float32, default Adam, host batches): {reference_rate:8.1f} images/s')
    print(f'  ours (channels_last={metrics["config"]["channels_last"]}, amp={metrics["config"]["amp"]}, fused Adam, '
          f'device batches): {ours_rate:8.1f} images/s')
    print(f'  ours / reference: {ours_rate / reference_rate:.2f}x')
    if show_profile:
        sort_by = 'self_device_time_total' if device.type == 'cuda' else 'self_cpu_time_total'
        print(f'  where {BLOCK} of our steps spend their time ({device.type}):')
        print(run.profiler.key_averages().table(sort_by=sort_by, row_limit=15))


def main(argv=None):
    parser = runkit.ArgumentParser(description=__doc__.split('\n')[0])
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
