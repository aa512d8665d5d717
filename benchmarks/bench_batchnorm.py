"""Time forward + backward of the custom batch-norm layers against PyTorch's own.

For every shape, each implementation runs `--number` forward+backward calls
per timing; the implementations take turns in a shuffled order within every
repeat, so drifts in machine load hit them all alike. The table shows the
median time per call over the repeats and its ratio to the native layer.

    python benchmarks/bench_batchnorm.py [--repeats 20] [--number 10] [--device cpu] [--threads 1]
"""

import random
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn as nn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from custom_batchnorm import CustomBatchNormAutograd, CustomBatchNormManualFunction, CustomBatchNormManualModule
from runkit import ArgumentParser

SHAPES = [(128, 1024), (200, 100), (32, 256, 8, 8), (128, 64, 16, 16)]


def make_step(fn, params, x, grad_out):
    """Return a closure running one forward + backward pass of ``fn`` on ``x``."""
    inputs = [x, *params]

    def step():
        torch.autograd.grad(fn(x), inputs, grad_out)

    return step


def bench_shape(shape, device, repeats, number):
    """Median seconds per forward+backward call for each implementation."""
    c = shape[1]
    native = nn.BatchNorm1d(c) if len(shape) == 2 else nn.BatchNorm2d(c)
    layers = {
        f"nn.{type(native).__name__}": native,
        "CustomBatchNormAutograd": CustomBatchNormAutograd(c),
        "CustomBatchNormManualModule": CustomBatchNormManualModule(c),
    }
    x = torch.randn(shape, device=device, requires_grad=True)
    grad_out = torch.randn(shape, device=device)
    steps = {name: make_step(layer.to(device), list(layer.parameters()), x, grad_out)
             for name, layer in layers.items()}
    gamma = torch.ones(c, device=device, requires_grad=True)
    beta = torch.zeros(c, device=device, requires_grad=True)
    # The bare Function, called directly: no module, no running statistics.
    steps["CustomBatchNormManualFunction"] = make_step(
        lambda x: CustomBatchNormManualFunction.apply(x, gamma, beta), [gamma, beta], x, grad_out)

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    for step in steps.values():  # warm-up: allocator, kernels, autograd caches
        for _ in range(3):
            step()
    sync()

    times = {name: [] for name in steps}
    order = list(steps)
    for _ in range(repeats):
        random.shuffle(order)
        for name in order:
            step = steps[name]
            start = time.perf_counter()
            for _ in range(number):
                step()
            sync()
            times[name].append((time.perf_counter() - start) / number)
    return {name: statistics.median(t) for name, t in times.items()}


def main(argv=None):
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20, help="timings per implementation and shape")
    parser.add_argument("--number", type=int, default=10, help="calls per timing")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    # One thread by default: timings on a shared machine stay steady, and an
    # oversubscribed OpenMP pool would measure contention rather than code.
    parser.add_argument("--threads", type=int, default=1, help="CPU threads for torch")
    args = parser.parse_args(argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        parser.error("--device cuda was asked for, but PyTorch sees no GPU here")
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    random.seed(0)
    torch.manual_seed(0)

    print(f"torch {torch.__version__}, device {device}, threads {torch.get_num_threads()}, "
          f"float32, {args.repeats} repeats x {args.number} calls, median per forward+backward")
    print(f"{'shape':<18} {'implementation':<30} {'time (us)':>10} {'vs native':>10}")
    for shape in SHAPES:
        medians = bench_shape(shape, device, args.repeats, args.number)
        native = next(iter(medians.values()))
        for name, t in medians.items():
            print(f"{'x'.join(map(str, shape)):<18} {name:<30} {t * 1e6:>10.1f} {t / native:>9.2f}x")


if __name__ == "__main__":
    main()
