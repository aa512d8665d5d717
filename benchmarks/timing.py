"""What the benchmarks share: interleaved timing of competing steps, the CPU's name for every printed timing, the
NumPy MLP's step and its PyTorch twin, random batches and the MLP benchmarks' flags."""
import argparse
import platform
import time

import numpy as np
import torch

N_INPUTS, N_CLASSES, NEG_SLOPE, LEARNING_RATE = 3072, 10, 0.02, 2e-3


def numpy_step(model, loss_module, x, t):
    p = model.forward(x)
    loss_module.forward(p, t)
    model.backward(loss_module.backward(p, t))
    for params, grads in model.parameters():  # plain SGD, as train_mlp_numpy.py's loop
        for name in params:
            params[name] -= LEARNING_RATE * grads[name]


def torch_model(numpy_model, neg_slope=NEG_SLOPE):
    """The PyTorch twin, starting from the NumPy model's weights."""
    layers = []
    for params, _ in numpy_model.parameters():
        linear = torch.nn.Linear(*params['weight'].shape[::-1])
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(params['weight']))
            linear.bias.copy_(torch.from_numpy(params['bias']))
        layers += [linear, torch.nn.LeakyReLU(neg_slope)]
    return torch.nn.Sequential(*layers[:-1])


def torch_step(model, optimizer, x, labels):
    optimizer.zero_grad(set_to_none=True)
    torch.nn.functional.cross_entropy(model(x), labels).backward()
    optimizer.step()


def time_interleaved(steps, repeats, num_batches, warmup=20):
    """{name: step(k)} -> {name: seconds of each of `repeats` calls}; the steps take turns on batch k.

    Who goes first rotates every round: the step after another one finds the shared batch in the cache.
    The first `warmup` rounds warm up caches and allocators and are not kept.
    """
    names = list(steps)
    times = {name: [] for name in names}
    for i in range(repeats + warmup):
        for name in names[i % len(names):] + names[:i % len(names)]:
            start = time.perf_counter()
            steps[name](i % num_batches)
            if i >= warmup:
                times[name].append(time.perf_counter() - start)
    return {name: np.array(seconds) for name, seconds in times.items()}


def cpu_name():
    """The processor's model name (Linux), or what platform knows of it elsewhere."""
    try:
        with open('/proc/cpuinfo') as f:
            return next(line.split(':', 1)[1].strip() for line in f if line.startswith('model name'))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def parse_args(description):
    """The flags both MLP benchmarks take; args.hidden becomes a list of widths."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('--repeats', type=int, default=300)
    parser.add_argument('--hidden', default='100', help='comma-separated hidden widths')
    parser.add_argument('--batch_size', type=int, default=200)
    args = parser.parse_args()
    args.hidden = [int(width) for width in args.hidden.split(',') if width]
    return args


def random_batches(batch_size, count=8, seed=0):
    """[(x (batch, 3072) float32, integer labels (batch,), one-hot labels (batch, 10))], and the same as tensors.

    x is on the scale of mean-subtracted pixels.
    """
    rng = np.random.default_rng(seed)
    batches = []
    for _ in range(count):
        labels = rng.integers(N_CLASSES, size=batch_size)
        x = 60 * rng.standard_normal((batch_size, N_INPUTS)).astype(np.float32)
        batches.append((x, labels, np.eye(N_CLASSES, dtype=np.float32)[labels]))
    return batches, [(torch.from_numpy(x), torch.from_numpy(labels)) for x, labels, _ in batches]
