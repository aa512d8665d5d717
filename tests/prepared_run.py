"""A training script's run as trainers.prepare() sets it up, opened up for tests of its wiring: what it built from
the flags, and what its model and optimiser then see. Runs on 64 training and 32 test images of the synthetic set."""
import functools
import importlib
import os
import signal

import numpy as np
import pytest

import cifar10_utils
import trainers
from runkit import optimisers, torch_data

MODEL_MODULES = {'mlp_numpy': 'mlp_numpy', 'mlp_pytorch': 'mlp_pytorch', 'convnet': 'convnet_pytorch'}


def kind_of(script):
    """The trainers kind of a training script's module."""
    return {name: kind for kind, name in trainers.SCRIPTS.items()}[script.__name__]


def record(patch, owner, name):
    """Make owner.name (a class or function) keep what every call returns, in the list returned."""
    made, original = [], getattr(owner, name)

    def recording(*args, **kwargs):
        made.append(original(*args, **kwargs))
        return made[-1]

    patch.setattr(owner, name, recording)
    return made


def prepare(script, output_dir, flags, **built):
    """trainers.prepare() of script's kind for the flags; built names what to keep, as name=(owner, attribute) of a
    class or function that prepare() calls once. Returns (the Prepared run, {name: what that call returned})."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cifar10_utils, 'get_synthetic',
                      functools.partial(cifar10_utils.get_synthetic, num_train=64, num_test=32))
        made = {name: record(patch, owner, attribute) for name, (owner, attribute) in built.items()}
        flags = ['--dataset', 'fake_cifar10', '--batch_size', '8', '--output_dir', str(output_dir), *flags]
        result = trainers.prepare(kind_of(script), flags)
    assert all(len(objects) == 1 for objects in made.values()), {name: len(objects) for name, objects in made.items()}
    return result, {name: objects[0] for name, objects in made.items()}


class TorchRun:
    """A PyTorch training script prepared for the flags: its model, optimiser and batches, its train_step and
    evaluate; inputs and outputs collect every call of the model (training and evaluation), rates the learning
    rate of every optimiser step."""

    def __init__(self, script, model_class, output_dir, *flags):
        model_module = importlib.import_module(MODEL_MODULES[kind_of(script)])
        run, built = prepare(script, output_dir, flags, model=(model_module, model_class),
                             optimizer=(optimisers, 'make_optimizer'), batches=(torch_data, 'DeviceBatches'))
        self.config, self.train_step, self.evaluate, self.saving = run.config, run.train_step, run.evaluate, run.saving
        self.model, self.optimizer, self.batches = built['model'], built['optimizer'], built['batches']
        self.inputs, self.outputs, self.rates = [], [], []

        def keep_call(module, args, output):  # a forward hook that returned something would replace the output
            self.inputs.append(args[0])
            self.outputs.append(output)

        def keep_rate(optimizer, args, kwargs):
            self.rates.append(optimizer.param_groups[0]['lr'])

        self.model.register_forward_hook(keep_call)
        self.optimizer.register_step_pre_hook(keep_rate)

    def seed_state(self):
        """(initial weights, the first three batches' images, the training images), as lists of numpy arrays."""
        return ([parameter.detach().numpy() for parameter in self.model.parameters()],
                [self.batches.next_batch()[0].numpy() for _ in range(3)], [self.batches.images.numpy()])


def assert_seed_decides(first, same_seed, other_seed):
    """Three seed states (initial weights, first batches, training images) of seeds s, s and t != s: the same seed
    repeats the weights and the batches, another changes both, and neither changes the data."""
    def same(arrays, others):
        return len(arrays) == len(others) and all(np.array_equal(a, b) for a, b in zip(arrays, others))

    (weights, batches, data), (weights_again, batches_again, data_again), (other_weights, other_batches, other_data) \
        = first, same_seed, other_seed
    assert same(weights, weights_again) and same(batches, batches_again), 'the same seed gave another start'
    assert not same(weights, other_weights), 'another seed gave the same initial weights'
    assert not same(batches, other_batches), 'another seed gave the same batches'
    assert same(data, data_again) and same(data, other_data), 'the seed changed the training data'


def send_sigterm_after(patch, stop_after):
    """Make trainers.prepare()'s train_step send this process SIGTERM once step stop_after is done, as `kill` or a
    batch scheduler would."""
    original = trainers.prepare

    def prepare(*args, **kwargs):
        run = original(*args, **kwargs)

        def step_then_signal(step):
            result = run.train_step(step)
            if step == stop_after:
                os.kill(os.getpid(), signal.SIGTERM)
            return result

        return run._replace(train_step=step_then_signal)

    patch.setattr(trainers, 'prepare', prepare)


def interrupted_and_resumed(script, output_dir, flags, stop_after, num_test=32):
    """script.main() on the tiny synthetic set (64 training images, num_test test images): straight through into
    output_dir/full, and into output_dir/part stopped by SIGTERM after step stop_after, then continued with
    --resume. Returns (the full run's metrics, the resumed run's, the interrupted run's exit message)."""
    flags = ['--dataset', 'fake_cifar10', *flags]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cifar10_utils, 'get_synthetic',
                      functools.partial(cifar10_utils.get_synthetic, num_train=64, num_test=num_test))
        full = script.main(flags + ['--output_dir', str(output_dir / 'full')])
        with pytest.MonkeyPatch.context() as stopping:
            send_sigterm_after(stopping, stop_after)
            with pytest.raises(SystemExit) as interrupted:
                script.main(flags + ['--output_dir', str(output_dir / 'part')])
        resumed = script.main(flags + ['--resume', str(output_dir / 'part')])
    return full, resumed, str(interrupted.value.code)


def assert_same_run(full, resumed):
    """Every curve and outcome equal, but for times, the flags' --resume and the record of the resumption."""
    timing = {'wall_time_s', 'config', 'resumed_after_steps'}
    assert {key for key in full if key not in timing} == {key for key in resumed if key not in timing}
    for key in full:
        if key not in timing:
            assert full[key] == resumed[key], key
    assert {flag: value for flag, value in full['config'].items() if flag not in ('resume', 'output_dir', 'timing')} \
        == {flag: value for flag, value in resumed['config'].items() if flag not in ('resume', 'output_dir', 'timing')}
