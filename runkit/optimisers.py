"""Optimisers and learning-rate schedules, and the flags that choose them."""
import argparse
import math
import sys

import torch

from runkit.flags import fraction, non_negative_float, non_negative_int

OPTIMIZERS = ('sgd', 'adam', 'adamw')
SCHEDULES = ('constant', 'step', 'cosine', 'onecycle')


def add_optimiser_arguments(parser, *, optimizer, momentum):
    """--optimizer, --momentum, --weight_decay, --label_smoothing, --augment, --lr_schedule and --warmup_steps, as a
    group of their own."""
    group = parser.add_argument_group('optimisation')
    group.add_argument('--optimizer', choices=OPTIMIZERS, default=optimizer)
    group.add_argument('--momentum', type=non_negative_float, default=momentum, help='for sgd')
    group.add_argument('--weight_decay', type=non_negative_float, default=0.0)
    group.add_argument('--label_smoothing', type=fraction, default=0.0,
                       help='weight of the uniform distribution mixed into the targets (the train loss recorded is '
                            'the smoothed one)')
    group.add_argument('--augment', action=argparse.BooleanOptionalAction, default=False,
                       help='random crops (4 pixels of padding) and horizontal flips of the training images')
    group.add_argument('--lr_schedule', choices=SCHEDULES, default='constant',
                       help='learning-rate schedule over the run')
    group.add_argument('--warmup_steps', type=non_negative_int, default=0,
                       help='steps of linear warm-up before the schedule')


def make_optimizer(name, parameters, learning_rate, momentum=0.0, weight_decay=0.0, fused=False, nesterov=False):
    """SGD (with momentum, Nesterov's if nesterov), Adam or AdamW. fused=True does each update in one kernel: the
    same arithmetic, several times faster for millions of parameters (~7 ms instead of ~25 ms for the ConvNet's 9M
    on 2 cores)."""
    if name not in OPTIMIZERS:
        raise ValueError(f'optimizer must be one of {OPTIMIZERS}, got {name!r}')
    if nesterov and (name != 'sgd' or momentum == 0):
        raise ValueError(f'Nesterov momentum needs the sgd optimizer with a momentum above 0, got {name}'
                         + (f' with momentum {momentum}' if name == 'sgd' else ''))
    fused = fused or None  # None lets PyTorch choose its default implementation
    if name == 'sgd':
        return torch.optim.SGD(parameters, lr=learning_rate, momentum=momentum, weight_decay=weight_decay,
                               nesterov=nesterov, fused=fused)
    optimizer = torch.optim.Adam if name == 'adam' else torch.optim.AdamW
    return optimizer(parameters, lr=learning_rate, weight_decay=weight_decay, fused=fused)


def lr_factor(schedule, step, total_steps, warmup_steps=0):
    """Multiplier of the base learning rate before update `step` (0-based) of `total_steps`.

    Linear warm-up from 0 over warmup_steps, then: constant; step (x0.1 at 50% and 75%);
    cosine (to 0 at the end); onecycle (cosine from the peak down to 1e-4 of it, the warm-up
    being the rising half: the same as cosine with warm-up but never exactly 0).
    """
    if schedule not in SCHEDULES:
        raise ValueError(f'schedule must be one of {SCHEDULES}, got {schedule!r}')
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    if schedule == 'constant':
        return 1.0
    if schedule == 'step':
        return 0.1 ** ((progress >= 0.5) + (progress >= 0.75))
    floor = 1e-4 if schedule == 'onecycle' else 0.0
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))


def make_scheduler(optimizer, schedule, total_steps, warmup_steps=0):
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: lr_factor(schedule, step, total_steps, warmup_steps))


def scheduler_for(optimizer, config):
    """The scheduler a run's --lr_schedule and --warmup_steps ask for over its max_steps; a warm-up that leaves the
    schedule no step ends the program in one line."""
    if config['warmup_steps'] >= config['max_steps']:
        sys.exit(f'error: --warmup_steps {config["warmup_steps"]} leaves no step of the run\'s {config["max_steps"]} '
                 f'to the schedule; expected fewer warm-up steps than that')
    return make_scheduler(optimizer, config['lr_schedule'], config['max_steps'], config['warmup_steps'])
