"""Time one training step of the NumPy MLP against the same network and SGD step in PyTorch autograd.

    python benchmarks/bench_mlp_numpy.py [--repeats 300] [--hidden 100] [--batch_size 200]

Both run on the CPU in this process, interleaved step by step on the same batches, so that a
busy machine slows both alike; prints the medians and the median of the per-pair ratios
(NumPy time / PyTorch time: below 1 means NumPy is faster).
"""
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from mlp_numpy import MLP
from modules import CrossEntropyModule
from timing import (
    LEARNING_RATE,
    N_CLASSES,
    N_INPUTS,
    NEG_SLOPE,
    cpu_name,
    numpy_step,
    parse_args,
    random_batches,
    time_interleaved,
    torch_model,
    torch_step,
)


def main():
    args = parse_args(__doc__.split('\n')[0])
    batches, torch_batches = random_batches(args.batch_size)
    numpy_batches = [(x, one_hot) for x, _, one_hot in batches]

    model = MLP(N_INPUTS, args.hidden, N_CLASSES, NEG_SLOPE, seed=0)
    loss_module = CrossEntropyModule()
    twin = torch_model(model)
    optimizer = torch.optim.SGD(twin.parameters(), lr=LEARNING_RATE)

    times = time_interleaved({'numpy': lambda k: numpy_step(model, loss_module, *numpy_batches[k]),
                              'torch': lambda k: torch_step(twin, optimizer, *torch_batches[k])},
                             args.repeats, len(batches))
    numpy_ms, torch_ms = (1e3 * np.median(times[name]) for name in ('numpy', 'torch'))
    ratio = np.median(times['numpy'] / times['torch'])
    print(f'MLP 3072-{"-".join(map(str, args.hidden))}-10, batch {args.batch_size}, float32, '
          f'{args.repeats} interleaved steps, numpy {np.__version__}, torch {torch.__version__} '
          f'({torch.get_num_threads()} threads), {cpu_name()}')
    print(f'numpy (hand-written backward): {numpy_ms:.3f} ms/step')
    print(f'torch (autograd):              {torch_ms:.3f} ms/step')
    print(f'median ratio numpy / torch:    {ratio:.2f}')


if __name__ == '__main__':
    main()
