"""Time one training step of the NumPy MLP against the same network and SGD step in PyTorch autograd.

    python benchmarks/bench_mlp_numpy.py [--repeats 300] [--hidden 100] [--batch_size 200]

Both run on the CPU in this process, interleaved step by step on the same batches, so that a
busy machine slows both alike; prints the medians and the median of the per-pair ratios
(NumPy time / PyTorch time: below 1 means NumPy is faster).
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from mlp_numpy import MLP  # noqa: E402
from modules import CrossEntropyModule  # noqa: E402
from train_mlp_numpy import sgd_step  # noqa: E402

N_INPUTS, N_CLASSES, NEG_SLOPE, LEARNING_RATE = 3072, 10, 0.02, 2e-3


def numpy_step(model, loss_module, x, t):
    p = model.forward(x)
    loss_module.forward(p, t)
    model.backward(loss_module.backward(p, t))
    sgd_step(model, LEARNING_RATE)


def torch_model(numpy_model):
    """The PyTorch twin, starting from the NumPy model's weights."""
    layers = []
    for params, _ in numpy_model.parameters():
        linear = torch.nn.Linear(*params['weight'].shape[::-1])
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(params['weight']))
            linear.bias.copy_(torch.from_numpy(params['bias']))
        layers += [linear, torch.nn.LeakyReLU(NEG_SLOPE)]
    return torch.nn.Sequential(*layers[:-1])


def torch_step(model, optimizer, x, labels):
    optimizer.zero_grad(set_to_none=True)
    torch.nn.functional.cross_entropy(model(x), labels).backward()
    optimizer.step()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--repeats', type=int, default=300)
    parser.add_argument('--hidden', default='100', help='comma-separated hidden widths')
    parser.add_argument('--batch_size', type=int, default=200)
    args = parser.parse_args()
    hidden = [int(width) for width in args.hidden.split(',') if width]

    rng = np.random.default_rng(0)
    batches = [(60 * rng.standard_normal((args.batch_size, N_INPUTS)).astype(np.float32),
                rng.integers(N_CLASSES, size=args.batch_size)) for _ in range(8)]
    numpy_batches = [(x, np.eye(N_CLASSES, dtype=np.float32)[labels]) for x, labels in batches]
    torch_batches = [(torch.from_numpy(x), torch.from_numpy(labels)) for x, labels in batches]

    model = MLP(N_INPUTS, hidden, N_CLASSES, NEG_SLOPE, seed=0)
    loss_module = CrossEntropyModule()
    twin = torch_model(model)
    optimizer = torch.optim.SGD(twin.parameters(), lr=LEARNING_RATE)

    times = {'numpy': [], 'torch': []}
    for i in range(args.repeats + 20):  # the first 20 pairs warm up caches and allocators
        k = i % len(batches)
        start = time.perf_counter()
        numpy_step(model, loss_module, *numpy_batches[k])
        middle = time.perf_counter()
        torch_step(twin, optimizer, *torch_batches[k])
        end = time.perf_counter()
        if i >= 20:
            times['numpy'].append(middle - start)
            times['torch'].append(end - middle)

    numpy_ms, torch_ms = (1e3 * np.median(times[name]) for name in ('numpy', 'torch'))
    ratio = np.median(np.array(times['numpy']) / np.array(times['torch']))
    print(f'MLP 3072-{"-".join(map(str, hidden))}-10, batch {args.batch_size}, float32, '
          f'{args.repeats} interleaved steps, numpy {np.__version__}, torch {torch.__version__} '
          f'({torch.get_num_threads()} threads)')
    print(f'numpy (hand-written backward): {numpy_ms:.3f} ms/step')
    print(f'torch (autograd):              {torch_ms:.3f} ms/step')
    print(f'median ratio numpy / torch:    {ratio:.2f}')


if __name__ == '__main__':
    main()
