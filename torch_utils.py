"""What the PyTorch training scripts share: device choice, on-device batches, augmentation,
learning-rate schedules and evaluation. (train_utils has the framework-free part.)"""
import errno
import math
import os
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


def save_model(path, kind, config, model):
    """model.pt: the model's kind, the run's flags (enough to rebuild it) and its state_dict.
    torch.load(path, weights_only=True) reads it back; load_file checks it."""
    train_utils.write_atomically(path, lambda temporary: save_file(
        {'kind': kind, 'config': config, 'state_dict': model.state_dict()}, temporary))


def save_file(value, path):
    """torch.save, whose writer reports a failed write (a full disk) as a RuntimeError: here an OSError, as every
    other write of a run reports it, so that the run ends in one line."""
    try:
        torch.save(value, path)
    except RuntimeError as error:
        if 'inline_container' not in str(error) and 'PytorchStreamWriter' not in str(error):  # not its writer
            raise
        raise OSError(errno.EIO, f'the write failed ({str(error).strip().splitlines()[-1].strip()})', path) from None


def load_file(path, device='cpu'):
    """A model.pt or checkpoint.pt as a dict, loaded with weights_only=True: tensors and plain containers only, so
    a crafted file cannot run code, once train_utils.check_model_archive has bounded what it expands to. Anything
    else is a ModelFileError."""
    train_utils.check_model_archive(path)
    try:
        loaded = torch.load(path, map_location=device, weights_only=True)
    except FileNotFoundError:
        raise train_utils.ModelFileError(f'{path} does not exist') from None
    except Exception as error:  # pickled code, a truncated file, another format: all mean "not ours"
        raise train_utils.ModelFileError(f'cannot load {path}: it holds more than tensors and plain containers, or '
                                         f'it is damaged ({type(error).__name__}); it is not unpickled') from None
    if not isinstance(loaded, dict) or not {'kind', 'config'} <= set(loaded) or not isinstance(loaded['config'], dict):
        raise train_utils.ModelFileError(f'cannot load {path}: not a model or checkpoint file of this project')
    return loaded


def load_state(module, state_dict, path):
    """module.load_state_dict, with a wrong architecture reported as a ModelFileError naming the file."""
    try:
        module.load_state_dict(state_dict)
    except (RuntimeError, KeyError, ValueError) as error:
        raise train_utils.ModelFileError(f'{path} does not fit the {type(module).__name__} the flags describe: '
                                         f'{str(error).strip().splitlines()[0]}') from None


class Checkpoint:
    """What a PyTorch run needs to go on exactly where it stopped: model, optimiser, scheduler, the batch order and
    every random generator the run draws from (augmentation and dropout use torch's global one), with the metrics
    recorded so far. train_utils.train calls save (checkpoint.pt) and save_model (model.pt)."""

    def __init__(self, kind, config, model, optimizer, scheduler, batches):
        self.kind, self.config = kind, config
        self.model, self.optimizer, self.scheduler, self.batches = model, optimizer, scheduler, batches

    def save(self, folder, metrics, step):
        on_gpu = self.config['device'].startswith('cuda')
        state = {'kind': self.kind, 'config': self.config, 'step': step, 'metrics': metrics,
                 'model': self.model.state_dict(), 'optimizer': self.optimizer.state_dict(),
                 'scheduler': self.scheduler.state_dict(), 'batches': self.batches.state_dict(),
                 'torch_rng': torch.get_rng_state(), 'cuda_rng': torch.cuda.get_rng_state_all() if on_gpu else []}
        train_utils.write_atomically(os.path.join(folder, 'checkpoint.pt'), lambda path: save_file(state, path))

    def save_model(self, folder):
        save_model(os.path.join(folder, 'model.pt'), self.kind, self.config, self.model)

    def restore(self, folder, flags):
        """Load folder/checkpoint.pt into the model, optimiser, scheduler, batches and generators; returns
        (metrics, step) for train_utils.train's resumed. A completed run, or a run's setting that differs from
        this one's (named as a flag when it is one of `flags`), is a ModelFileError. A setting the checkpoint
        predates counts as off (None or False): flags are added with the old behaviour as their default."""
        path = os.path.join(folder, 'checkpoint.pt')
        state = load_file(path)
        with train_utils.model_file_errors(path):
            if state['kind'] != self.kind:
                raise train_utils.ModelFileError(f'{path} is a checkpoint of {state["kind"]}, not of {self.kind}')
            if state['step'] >= state['config']['max_steps']:
                raise train_utils.ModelFileError(f'the run in {folder} has completed; there is nothing to resume')
            for name in sorted((state['config'].keys() | self.config.keys()) - set(train_utils.LOGISTICS)):
                value, ours = state['config'].get(name), self.config.get(name)
                if name not in state['config'] and ours in (None, False):
                    continue
                if ours != value:
                    raise train_utils.ModelFileError(
                        f'the run in {folder} was trained with {f"--{name}" if name in flags else name} {value}, '
                        f'not {ours}; resume it with its own flags')
            load_state(self.model, state['model'], path)
            self.optimizer.load_state_dict(state['optimizer'])
            self.scheduler.load_state_dict(state['scheduler'])
            self.batches.load_state_dict(state['batches'])
            torch.set_rng_state(state['torch_rng'])
            if state['cuda_rng']:
                torch.cuda.set_rng_state_all(state['cuda_rng'])
            return state['metrics'], state['step']


def add_resume_argument(parser):
    parser.add_argument('--resume', metavar='RUN_DIR', default=None,
                        help='continue the interrupted run in RUN_DIR, with the same flags (RUN_DIR replaces '
                             '--output_dir)')


def resume_into(args):
    """With --resume RUN_DIR, the run goes on in RUN_DIR, which must hold a checkpoint: checked before anything is
    loaded or written."""
    if args.resume:
        if not os.path.exists(os.path.join(args.resume, 'checkpoint.pt')):
            sys.exit(f'error: --resume: {args.resume} holds no checkpoint.pt to continue from')
        args.output_dir = args.resume


def saving(kind, config, model, optimizer, scheduler, batches, args):
    """train_utils.train's save_model, checkpoint and resumed for a PyTorch run; with --resume, the run in
    args.resume is restored first (a problem ends the program in one line)."""
    # model.pt, and checkpoint.pt (the model and up to two optimiser moments) with its temporary copy
    train_utils.check_room(args.output_dir, sum(p.numel() * p.element_size() for p in model.parameters()), copies=7)
    checkpoint = Checkpoint(kind, config, model, optimizer, scheduler, batches)
    try:
        resumed = checkpoint.restore(args.resume, flags=set(vars(args))) if args.resume else None
    except train_utils.ModelFileError as error:
        sys.exit(f'error: --resume: {error}')
    return {'save_model': checkpoint.save_model, 'checkpoint': checkpoint.save, 'resumed': resumed}


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
    cross-entropy and argmax alike. evaluate and evaluate.py go through here, so that both see the same numbers."""
    batch = views(x, mirror, shift)
    with torch.autocast(x.device.type, dtype=autocast_dtype, enabled=autocast_dtype is not None):
        logits = [model(view).float() for view in batch]
    if len(logits) == 1:
        return logits[0]
    return torch.logsumexp(torch.stack([each.log_softmax(dim=1) for each in logits]), dim=0) - math.log(len(logits))


def add_schedule_arguments(parser):
    parser.add_argument('--lr_schedule', choices=SCHEDULES, default='constant',
                        help='learning-rate schedule over the run')
    parser.add_argument('--warmup_steps', type=train_utils.non_negative_int, default=0,
                        help='steps of linear warm-up before the schedule')
