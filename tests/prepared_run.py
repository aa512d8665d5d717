"""A training script's train() opened up for tests of its wiring: what it builds from the flags before its first
step, what its model and optimiser then see over a few steps, and runs stopped by a signal and resumed. Runs on 64
training and 32 test images of the CIFAR-shaped stand-in."""
import contextlib
import functools
import os
import signal

import numpy as np
import pytest

import cifar10_utils
import runkit
import train_convnet_pytorch
import train_mlp_pytorch
from runkit import optimisers, torch_data

MODEL_CLASSES = {train_mlp_pytorch: 'MLP', train_convnet_pytorch: 'ConvNet'}


@contextlib.contextmanager
def tiny_stand_in(num_test=32):
    """The stand-in (--dataset fake_cifar10) at 64 training images and num_test test images."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cifar10_utils, 'get_synthetic',
                      functools.partial(cifar10_utils.get_synthetic, num_train=64, num_test=num_test))
        yield


def record(patch, owner, name, then=None):
    """Make owner.name (a class or function) keep what every call returns, in the list returned; then(made), when
    given, is called on each."""
    made, original = [], getattr(owner, name)

    def recording(*args, **kwargs):
        made.append(original(*args, **kwargs))
        if then:
            then(made[-1])
        return made[-1]

    patch.setattr(owner, name, recording)
    return made


class Built(Exception):
    """What train() had built when its run's training began: .kind, .config (settled), .state (the state objects
    it checkpoints)."""

    def __init__(self, kind, config, state):
        super().__init__(kind)
        self.kind, self.config, self.state = kind, config, state


class StopsBeforeTraining(runkit.Run):
    """A Run in memory whose training() raises Built instead of beginning."""

    def training(self, kind, config, **state):
        raise Built(kind, config, state)


def built(script, flags, **recorded):
    """script.train() for the flags (on the tiny stand-in, in batches of 8) up to its first step. recorded names what
    to keep, as name=(owner, attribute) of a class or function that train() calls once. Returns (Built, {name: what
    that call returned})."""
    with tiny_stand_in(), pytest.MonkeyPatch.context() as patch:
        made = {name: record(patch, owner, attribute) for name, (owner, attribute) in recorded.items()}
        config = script.parse_flags(['--dataset', 'fake_cifar10', '--batch_size', '8', *flags])
        with pytest.raises(Built) as stopped:
            script.train(config, StopsBeforeTraining())
    assert all(len(objects) == 1 for objects in made.values()), {name: len(objects) for name, objects in made.items()}
    return stopped.value, {name: objects[0] for name, objects in made.items()}


class TorchRun:
    """A PyTorch training script's train() for the flags (on the tiny stand-in, in batches of 8), in memory:
    built up to its first step (then .model, .optimizer, .batches, .config are what it built), or with train(steps)
    trained that many steps, evaluating after the first and the last. inputs and outputs collect every call of the
    model (training and evaluation), rates the learning rate of every optimiser step."""

    def __init__(self, script, *flags):
        self.script, self.flags = script, ['--dataset', 'fake_cifar10', '--batch_size', '8', *flags]
        self.inputs, self.outputs, self.rates = [], [], []
        run, made = built(script, flags, model=(script, MODEL_CLASSES[script]),
                          optimizer=(optimisers, 'make_optimizer'), batches=(torch_data, 'DeviceBatches'))
        self.config, self.model, self.optimizer, self.batches = run.config, made['model'], made['optimizer'], \
            made['batches']

    def train(self, steps):
        """The metrics of `steps` steps of training, the model's calls and the optimiser's rates recorded."""
        def keep_call(module, args, output):  # a forward hook that returned something would replace the output
            self.inputs.append(args[0])
            self.outputs.append(output)

        def keep_rate(optimizer, args, kwargs):
            self.rates.append(optimizer.param_groups[0]['lr'])

        with tiny_stand_in(), pytest.MonkeyPatch.context() as patch:
            record(patch, self.script, MODEL_CLASSES[self.script], lambda model: model.register_forward_hook(keep_call))
            record(patch, optimisers, 'make_optimizer', lambda optimizer: optimizer.register_step_pre_hook(keep_rate))
            config = self.script.parse_flags(self.flags + ['--max_steps', str(steps), '--eval_freq', str(steps)])
            return self.script.train(config, runkit.Run())


def seed_state(run):
    """(initial weights, the first three batches' images, the training images) of a TorchRun, as lists of numpy
    arrays."""
    return ([parameter.detach().numpy() for parameter in run.model.parameters()],
            [run.batches.next_batch()[0].numpy() for _ in range(3)], [run.batches.images.numpy()])


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


def signal_during(patch, step, *signals):
    """Make every Run send this process the signals (SIGTERM, as `kill` or a batch scheduler would, or SIGINT, as
    Ctrl-C) once the loop is done with step `step`, or, with step negative, in the middle of step -step."""
    progress = runkit.Run.progress

    def progress_and_signal(self, iterable):
        for item in progress(self, iterable):
            if self.step == -step:
                for number in signals:
                    os.kill(os.getpid(), number)
            yield item
            if self.step == step:
                for number in signals:
                    os.kill(os.getpid(), number)

    patch.setattr(runkit.Run, 'progress', progress_and_signal)


def send_sigterm_after(patch, stop_after):
    """Make every Run send this process SIGTERM once step stop_after is done."""
    signal_during(patch, stop_after, signal.SIGTERM)


def interrupted_and_resumed(script, output_dir, flags, stop_after, num_test=32):
    """script.main() on the tiny stand-in (num_test test images): straight through into output_dir/full, and into
    output_dir/part stopped by SIGTERM after step stop_after, then continued with --resume. Returns (the full run's
    metrics, the resumed run's, the interrupted run's exit message)."""
    flags = ['--dataset', 'fake_cifar10', *flags]
    with tiny_stand_in(num_test):
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
