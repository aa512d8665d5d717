"""PyTorch on the device: device choice and seeding, mini-batches of tensors that live on the device, augmentation,
the test-time views of an image, and the evaluation of a model over a split; the flags that choose the device."""
import math
import sys

import numpy as np
import torch

from runkit.flags import DEVICES, add_threads_argument


def add_torch_arguments(parser):
    """--device and --threads as a group of their own."""
    group = parser.add_argument_group('PyTorch')
    group.add_argument('--device', choices=DEVICES, default='auto', help='auto takes the GPU when there is one')
    add_threads_argument(group)


def resolve_device(name):
    """'auto' -> cuda if available else cpu; asking for cuda without a GPU ends the program."""
    if name == 'auto':
        name = 'cuda' if torch.cuda.is_available() else 'cpu'
    if name == 'cuda' and not torch.cuda.is_available():
        sys.exit('error: --device cuda was asked for, but PyTorch sees no GPU here')
    return torch.device(name)


def bf16_is_fast(device):
    """Whether bfloat16 autocast speeds `device` up rather than slowing it down.

    GPUs from Ampere on, and CPUs with AVX-512 BF16 or AMX instructions, compute in bf16 natively; older GPUs
    (T4, V100) and other CPUs emulate it, which made a training step 5-14x slower on an AVX2-only EPYC.
    """
    if device.type == 'cuda':
        return torch.cuda.is_bf16_supported(including_emulation=False)
    return torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()


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
        self._order, self._position = None, self.steps_per_epoch  # the first batch draws the first epoch's order

    def next_batch(self):
        """(images (B, 3, 32, 32), labels (B,))."""
        if self._position == self.steps_per_epoch:
            order = torch.randperm(len(self.images), generator=self.generator).to(self.images.device)
            self._order = order[:self.steps_per_epoch * self.batch_size].view(self.steps_per_epoch, -1)
            self._position = 0
        index = self._order[self._position]
        self._position += 1
        return self.images[index], self.labels[index]

    def state_dict(self):
        """Where the batches stand: the generator, this epoch's order and the next batch's place in it."""
        return {'generator': self.generator.get_state(), 'order': self._order, 'position': self._position}

    def load_state_dict(self, state):
        self.generator.set_state(state['generator'])
        order = state['order']
        self._order, self._position = None if order is None else order.to(self.images.device), state['position']


def augment(images, padding=4):
    """Random crop with zero padding and random horizontal flip, per image, on the device.

    images: (B, C, H, W) -> (B, C, H, W). Uses torch's global generator (torch.manual_seed).
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


@torch.inference_mode()
def evaluate(model, images, labels, batch_size=1000, autocast_dtype=None, mirror=False, shift=0):
    """(mean cross-entropy loss, accuracy) of `model` (returning logits) in eval mode, in large batches; with
    mirror or shift, of its predictions averaged over views of each image (see predict)."""
    was_training = model.training
    model.eval()
    total_loss, correct = 0.0, 0
    for start in range(0, len(images), batch_size):
        logits = predict(model, images[start:start + batch_size], autocast_dtype, mirror, shift)
        y = labels[start:start + batch_size]
        total_loss += torch.nn.functional.cross_entropy(logits, y, reduction='sum').item()
        correct += (logits.argmax(dim=1) == y).sum().item()
    model.train(was_training)
    return total_loss / len(images), correct / len(images)


def translate(images, dy, dx):
    """images (N, C, H, W) moved down by dy and right by dx pixels (negative: up, left), zeros filling in, as in
    augment's crops of the zero-padded image."""
    pad = max(abs(dy), abs(dx))
    height, width = images.shape[2:]
    padded = torch.nn.functional.pad(images, (pad,) * 4)
    return padded[:, :, pad - dy:pad - dy + height, pad - dx:pad - dx + width]


def views(x, mirror=False, shift=0):
    """The views of a batch x (N, C, H, W) that test-time augmentation averages over: x itself; with shift, x moved
    diagonally by `shift` pixels down-right and up-left; with mirror, the horizontal mirror image of each of those."""
    moved = [x] + ([translate(x, shift, shift), translate(x, -shift, -shift)] if shift else [])
    return moved + ([view.flip(3) for view in moved] if mirror else [])


def predict(model, x, autocast_dtype=None, mirror=False, shift=0):
    """The model's logits for a batch x of images (N, C, H, W), in float32; under bfloat16 autocast when
    autocast_dtype says so. With mirror or shift (test-time augmentation, as VGG was evaluated), the log of the
    class probabilities averaged over the views of each image (see views): logits of that average for softmax,
    cross-entropy and argmax alike. evaluate and models.predict (evaluate.py) go through here, so that both see the
    same numbers."""
    batch = views(x, mirror, shift)
    with torch.autocast(x.device.type, dtype=autocast_dtype, enabled=autocast_dtype is not None):
        logits = [model(view).float() for view in batch]
    if len(logits) == 1:
        return logits[0]
    return torch.logsumexp(torch.stack([each.log_softmax(dim=1) for each in logits]), dim=0) - math.log(len(logits))
