"""Time one training step of the autodiff engine's MLP against modules.py's hand-written step and torch autograd.

    python benchmarks/bench_autodiff.py [--repeats 300] [--hidden 100] [--batch_size 200]

The same ReLU network (3072-100-10, float32, the same starting weights) and the same plain SGD step in
three implementations, taking turns step by step on the same batches in this process, so that a busy
machine slows all alike. Prints each one's median time and the medians of the per-step ratios.
"""
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / 'vu2021')]  # the root's modules, and the VU offering's engine
import autodiff
from mlp_numpy import MLP
from modules import CrossEntropyModule
from timing import (
    LEARNING_RATE,
    N_CLASSES,
    N_INPUTS,
    cpu_name,
    numpy_step,
    parse_args,
    random_batches,
    time_interleaved,
    torch_model,
    torch_step,
)


def engine_twin(numpy_model):
    """The engine's MLP with the NumPy model's weights (stored transposed, as the engine's Linear uses them)."""
    engine = autodiff.MLP(N_INPUTS, [layer.out_features for layer in numpy_model.layers[:-2:2]], N_CLASSES,
                          activation='relu')
    for layer, (params, _) in zip(engine.layers, numpy_model.parameters()):
        layer.weight.value = params['weight'].T.copy()
        layer.bias.value = params['bias'][None].copy()
    return engine


def engine_step(model, x, labels):
    loss = autodiff.logceloss(model(autodiff.TensorNode(x, requires_grad=False)), labels)
    loss.backward()
    for parameter in model.parameters():
        parameter.value -= LEARNING_RATE * parameter.grad
    loss.zero_grad()
    loss.clear()


def main():
    args = parse_args(__doc__.split('\n')[0])
    batches, torch_batches = random_batches(args.batch_size)

    modules_model = MLP(N_INPUTS, args.hidden, N_CLASSES, neg_slope=0, seed=0)
    loss_module = CrossEntropyModule()
    engine = engine_twin(modules_model)
    twin = torch_model(modules_model, neg_slope=0)
    optimizer = torch.optim.SGD(twin.parameters(), lr=LEARNING_RATE)

    times = time_interleaved({'engine': lambda k: engine_step(engine, batches[k][0], batches[k][1]),
                              'modules': lambda k: numpy_step(modules_model, loss_module, batches[k][0], batches[k][2]),
                              'torch': lambda k: torch_step(twin, optimizer, *torch_batches[k])},
                             args.repeats, len(batches))
    print(f'MLP 3072-{"-".join(map(str, args.hidden))}-10 (ReLU), batch {args.batch_size}, float32, {args.repeats} '
          f'interleaved steps, numpy {np.__version__}, torch {torch.__version__} ({torch.get_num_threads()} threads), '
          f'{cpu_name()}')
    for name, label in (('engine', 'autodiff engine'), ('modules', 'modules.py (hand-written backward)'),
                        ('torch', 'torch autograd')):
        print(f'{label + ":":36}{1e3 * np.median(times[name]):.3f} ms/step')
    for baseline in ('modules', 'torch'):
        print(f'median ratio engine / {baseline}:{"" if baseline == "modules" else " "}  '
              f'{np.median(times["engine"] / times[baseline]):.2f}')


if __name__ == '__main__':
    main()
