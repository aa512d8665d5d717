"""What the PyTorch training scripts share: device choice, on-device batches, augmentation,
learning-rate schedules and evaluation. (train_utils has the framework-free part.)"""
import math
import sys

import numpy as np
import torch

import train_utils

DEVICES = ('auto', 'cpu', 'cuda')
SCHEDULES = ('constant', 'step', 'cosine', 'onecycle')
OPTIMIZERS = ('sgd', 'adam', 'adamw')


def add_device_argument(parser):
    parser.add_argument('--device', choices=DEVICES, default='auto',
                        help='auto takes the GPU when there is one')


def resolve_device(name):
    """'auto' -> cuda if available else cpu; asking for cuda without a GPU ends the program."""
    if name == 'auto':
        name = 'cuda' if torch.cuda.is_available() else 'cpu'
    if name == 'cuda' and not torch.cuda.is_available():
        sys.exit('error: --device cuda was asked for, but PyTorch sees no GPU here')
    return torch.device(name)


def seed_everything(seed):
    """Seed torch's generators (CPU and every GPU); nothing here draws from numpy's global one."""
    torch.manual_seed(seed)


def split_to_device(dataset, device):
    """A DataSet's images (N, 3, 32, 32) float32 and integer labels (N,) as tensors on `device`."""
    labels = dataset.labels.argmax(axis=1) if dataset.labels.ndim == 2 else dataset.labels
    return (torch.from_numpy(dataset.images).to(device),
            torch.from_numpy(np.asarray(labels, dtype=np.int64)).to(device))


class DeviceBatches:
    """Mini-batches drawn from tensors that already live on the device, reshuffled every epoch.

    Like DataSet.next_batch, but no batch crosses from host to device; the incomplete last
    batch of an epoch is dropped.
    """

    def __init__(self, images, labels, batch_size, seed):
        if not 0 < batch_size <= len(images):
            raise ValueError(f'batch_size must be in [1, {len(images)}], got {batch_size}')
        self.images, self.labels, self.batch_size = images, labels, batch_size
        self.generator = torch.Generator(device='cpu').manual_seed(seed)
        self.steps_per_epoch = len(images) // batch_size
        self._batches = iter(())

    def _epoch(self):
        order = torch.randperm(len(self.images), generator=self.generator).to(self.images.device)
        return iter(order[:self.steps_per_epoch * self.batch_size].view(self.steps_per_epoch, -1))

    def next_batch(self):
        """(images (B, 3, 32, 32), labels (B,))."""
        index = next(self._batches, None)
        if index is None:
            self._batches = self._epoch()
            index = next(self._batches)
        return self.images[index], self.labels[index]


def augment(images, padding=4):
    """Random crop with zero padding and random horizontal flip, per image, on the device.

    images: (B, C, H, W) -> (B, C, H, W). Uses torch's global generator (seeded by seed_everything).
    """
    batch, _, height, width = images.shape
    device = images.device
    padded = torch.nn.functional.pad(images, (padding,) * 4)
    dy = torch.randint(0, 2 * padding + 1, (batch, 1, 1), device=device)
    dx = torch.randint(0, 2 * padding + 1, (batch, 1, 1), device=device)
    rows = (torch.arange(height, device=device).view(1, height, 1) + dy).expand(batch, height, width)
    cols = torch.arange(width, device=device).view(1, 1, width) + dx
    flip = torch.rand(batch, 1, 1, device=device) < 0.5
    cols = torch.where(flip, 2 * dx + width - 1 - cols, cols).expand(batch, height, width)
    index = torch.arange(batch, device=device).view(batch, 1, 1)
    return padded.permute(0, 2, 3, 1)[index, rows, cols].permute(0, 3, 1, 2)


def make_optimizer(name, parameters, learning_rate, momentum=0.0, weight_decay=0.0, fused=False):
    """SGD (with momentum), Adam or AdamW. fused=True does each update in one kernel: the same arithmetic,
    several times faster for millions of parameters (~7 ms instead of ~25 ms for the ConvNet's 9M on 2 cores)."""
    if name not in OPTIMIZERS:
        raise ValueError(f'optimizer must be one of {OPTIMIZERS}, got {name!r}')
    fused = fused or None  # None lets PyTorch choose its default implementation
    if name == 'sgd':
        return torch.optim.SGD(parameters, lr=learning_rate, momentum=momentum, weight_decay=weight_decay,
                               fused=fused)
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


def scheduler_from_flags(optimizer, args):
    """The scheduler --lr_schedule and --warmup_steps ask for over args.max_steps (known once the data is loaded);
    a warm-up that leaves the schedule no step ends the program in one line."""
    if args.warmup_steps >= args.max_steps:
        sys.exit(f'error: --warmup_steps {args.warmup_steps} leaves no step of the run\'s {args.max_steps} to the '
                 f'schedule; expected fewer warm-up steps than that')
    return make_scheduler(optimizer, args.lr_schedule, args.max_steps, args.warmup_steps)


@torch.inference_mode()
def evaluate(model, images, labels, batch_size=1000, autocast_dtype=None):
    """(mean cross-entropy loss, accuracy) of `model` (returning logits) in eval mode, in large batches."""
    was_training = model.training
    model.eval()
    total_loss, correct = 0.0, 0
    for start in range(0, len(images), batch_size):
        x, y = images[start:start + batch_size], labels[start:start + batch_size]
        with torch.autocast(images.device.type, dtype=autocast_dtype, enabled=autocast_dtype is not None):
            logits = model(x)
        total_loss += torch.nn.functional.cross_entropy(logits.float(), y, reduction='sum').item()
        correct += (logits.argmax(dim=1) == y).sum().item()
    model.train(was_training)
    return total_loss / len(images), correct / len(images)


def add_schedule_arguments(parser):
    parser.add_argument('--lr_schedule', choices=SCHEDULES, default='constant',
                        help='learning-rate schedule over the run')
    parser.add_argument('--warmup_steps', type=train_utils.non_negative_int, default=0,
                        help='steps of linear warm-up before the schedule')
