"""What each training script does, for every kind of model in models.py: its flags and their defaults, the run's
config settled from them and from the data, and the steps the training loop takes.

    metrics = trainers.run('mlp_numpy', ['--max_steps', '100'])   # python train_mlp_numpy.py --max_steps 100

A run goes through these steps, each once, in this order:
    parse_flags   the flags as a frozen Config, every default resolved (--resume names the run folder)
    prepare_output_dir (run_files)   the folder checked, locked, not yet cleared
    load_data     the splits, and the fingerprint of the data's files
    settle        the config completed from the data (--epochs in steps) and the device, frozen again
    the kind's steps: the model built, train_step and evaluate (and checkpoints for PyTorch)
    train         training_loop.train_and_report (or train_past_divergence for a search)
"""
import os
import sys
import time
from collections import namedtuple

import numpy as np

import autodiff
import vu_data
from cifar10_utils import DataError
from mlp_numpy import accuracy, sgd_train_step
from modules import CrossEntropyModule
from runkit import datasets, flags, models, run_files, training_loop

SCRIPTS = {'mlp_numpy': 'train_mlp_numpy', 'mlp_pytorch': 'train_mlp_pytorch', 'convnet': 'train_convnet_pytorch',
           'autodiff': 'train_mlp_autodiff'}
DESCRIPTIONS = {'mlp_numpy': 'Train the NumPy MLP on CIFAR-10 with mini-batch SGD.',
                'mlp_pytorch': 'Train the PyTorch MLP on CIFAR-10.',
                'convnet': 'Train the Table 1 ConvNet on CIFAR-10.',
                'autodiff': "Train the autodiff engine's MLP with mini-batch SGD: the VU variant's experiment "
                            "(question 9)."}
AUTODIFF_DATASETS = ('synth', 'mnist', 'cifar10')
AUTODIFF_CLASSES = {'synth': vu_data.SYNTH_CLASSES, 'mnist': 10, 'cifar10': 10}
AUTODIFF_VALIDATION_SIZES = {'synth': 10_000, 'mnist': 5_000, 'cifar10': 5_000}
AUTODIFF_EPOCHS = 20

# config: the settled Config; record: what metrics.json and the checkpoints record of it (the ConvNet adds its
# timing, which train_step keeps up to date); saving: training_loop.train's save_model, checkpoint and resumed.
Prepared = namedtuple('Prepared', 'kind config train_step evaluate saving record model data')


def build_parser(kind, defaults=None):
    """The flags of kind's training script, with its defaults (those of `defaults` replacing them: an offering's face
    that trains another network with the same script)."""
    parser = flags.ArgumentParser(prog=f'{SCRIPTS[kind]}.py', description=DESCRIPTIONS[kind])
    output_dir = f'runs/{SCRIPTS[kind]}'
    if kind == 'mlp_numpy':
        flags.add_mlp_arguments(parser, output_dir=output_dir)
    elif kind == 'mlp_pytorch':
        flags.add_mlp_arguments(parser, output_dir=output_dir)
        flags.add_optimiser_arguments(parser, optimizer='sgd', momentum=0.0)
        flags.add_batch_norm_argument(parser, default='none')
        parser.add_argument('--dropout', type=flags.fraction, default=0.0,
                            help='dropout probability after every hidden activation')
        flags.add_torch_arguments(parser)
    elif kind == 'convnet':
        _add_convnet_arguments(parser, output_dir)
    else:
        parser.add_argument('--activation', choices=tuple(autodiff.ACTIVATIONS), default='sigmoid',
                            help='the hidden layers\' nonlinearity')
        parser.add_argument('--dnn_hidden_units', type=flags.int_list, default=None,
                            help='comma-separated hidden layer widths; default: one layer, four times the input size')
        flags.add_common_arguments(parser, learning_rate=0.1, max_steps=None, batch_size=128, eval_freq=None,
                                   output_dir=output_dir, dataset_names=AUTODIFF_DATASETS)
        parser.set_defaults(preprocess=None, validation_size=None)
    parser.set_defaults(**defaults or {})
    return parser


def _add_convnet_arguments(parser, output_dir):
    flags.add_common_arguments(parser, learning_rate=1e-4, max_steps=5000, batch_size=32, eval_freq=500,
                               output_dir=output_dir)
    flags.add_optimiser_arguments(parser, optimizer='adam', momentum=0.9)
    parser.add_argument('--nesterov', action=flags.argparse.BooleanOptionalAction, default=False,
                        help="for sgd with momentum: Nesterov's momentum, the gradient taken at the look-ahead point")
    flags.add_batch_norm_argument(parser, default='torch')
    switch = flags.argparse.BooleanOptionalAction
    parser.add_argument('--tta', action=switch, default=False,
                        help='evaluate each image and its mirror image and average the predicted probabilities '
                             '(test-time augmentation; the training loss is unaffected)')
    parser.add_argument('--tta_shift', type=flags.view_shift, default=0, metavar='PIXELS',
                        help='evaluate each image also moved diagonally by this many pixels down-right and up-left '
                             '(zero fill, as the training crops) and average the predicted probabilities over '
                             'those views too: with --tta, six views')
    parser.add_argument('--amp', action=switch, default=None,
                        help='bfloat16 autocast (default: on for an Ampere or newer GPU, or a CPU with AVX-512 BF16 '
                             'or AMX, where bf16 is fast; off elsewhere)')
    parser.add_argument('--fused', action=switch, default=True,
                        help="the optimiser's fused implementation: each update in one kernel, the same arithmetic")
    parser.add_argument('--channels_last', action=switch, default=True,
                        help='NHWC memory format for the model and its inputs')
    parser.add_argument('--compile', action=switch, default=False,
                        help='torch.compile the model (slow to start, needs a C++ compiler on the CPU)')
    flags.add_torch_arguments(parser)


def parse_flags(kind, argv=None, defaults=None):
    """kind's flags as a frozen Config: the dataset's default folder, VU's defaults per dataset for the autodiff
    MLP, and the run folder of --resume filled in. A flag that contradicts another ends the program in one line."""
    values = vars(build_parser(kind, defaults).parse_args(argv))
    if kind == 'autodiff':
        if values['max_steps'] is None and values['epochs'] is None:
            values['epochs'] = AUTODIFF_EPOCHS
        if values['validation_size'] is None:
            values['validation_size'] = AUTODIFF_VALIDATION_SIZES[values['dataset']]
        if values['preprocess'] is None and values['dataset'] != 'synth':
            values['preprocess'] = 'standardize'
    if values.get('nesterov') and (values['optimizer'] != 'sgd' or values['momentum'] == 0):
        sys.exit(f'error: --nesterov needs --optimizer sgd with a --momentum above 0, not --optimizer '
                 f'{values["optimizer"]}' + (f' with --momentum {values["momentum"]}'
                                             if values['optimizer'] == 'sgd' else ''))
    if values.get('resume'):
        if not os.path.exists(os.path.join(values['resume'], 'checkpoint.pt')):
            sys.exit(f'error: --resume: {values["resume"]} holds no checkpoint.pt to continue from')
        values['output_dir'] = values['resume']
    values['data_dir'] = values['data_dir'] or datasets.DEFAULT_DATA_DIRS.get(values['dataset'])
    return flags.Config(values)


def load_data(config, one_hot):
    """(the splits of config's dataset, the fingerprint of its files); a data problem ends the program in one line."""
    try:
        data = datasets.load_dataset(config.dataset, config.data_dir, seed=config.seed, preprocess=config.preprocess,
                                     validation_size=config.validation_size, one_hot=one_hot)
        fingerprint = datasets.fingerprint(config.dataset, config.data_dir)
    except (DataError, ValueError) as error:
        offline = ' (--dataset fake_cifar10 trains offline, on a stand-in)' if config.dataset == 'cifar10' else ''
        sys.exit(f'error: {error}{offline}')
    for split in ('train', 'test'):
        if data[split].num_examples == 0:
            sys.exit(f'error: the {split} split of {config.dataset} in {config.data_dir} holds no examples')
    num_train = data['train'].num_examples
    if config.batch_size > num_train:
        sys.exit(f'error: --batch_size {config.batch_size} is larger than the training set ({num_train} examples)')
    return data, fingerprint


def settle(config, data, fingerprint, **derived):
    """The config completed from the data: --epochs as max_steps (the incomplete last batch of an epoch is dropped),
    an --eval_freq left open as once per epoch, the data's fingerprint, and what the kind derives (derived); a new
    frozen Config."""
    steps_per_epoch = data['train'].num_examples // config.batch_size
    max_steps = config.max_steps if config.epochs is None else max(1, round(config.epochs * steps_per_epoch))
    return config.replace(max_steps=max_steps, eval_freq=config.eval_freq or steps_per_epoch,
                          data_fingerprint=fingerprint, **derived)


def prepare(kind, argv=None, config=None):
    """The run that kind's script makes of argv (or of an already parsed config), up to the first step."""
    config = config or parse_flags(kind, argv)
    return {'mlp_numpy': _mlp_numpy, 'autodiff': _autodiff, 'mlp_pytorch': _mlp_pytorch,
            'convnet': _convnet}[kind](config)


def train(prepared, past_divergence=False, curves=True):
    """Train a prepared run (training_loop.train_and_report; past_divergence: train_past_divergence, for a search
    that goes on when a run diverges); returns its metrics."""
    loop = training_loop.train_past_divergence if past_divergence else training_loop.train_and_report
    return loop(prepared.config, prepared.train_step, prepared.evaluate, prepared.record, curves=curves,
                **prepared.saving)


def run(kind, argv=None, past_divergence=False, curves=True, defaults=None):
    """What `python <kind's script> argv` does: prepare, then train; returns the run's metrics. defaults: flag
    defaults of an offering's face (build_parser)."""
    return train(prepare(kind, config=parse_flags(kind, argv, defaults)), past_divergence, curves)


def flat_held_out(data):
    """{split: (inputs flattened to (N, values), labels)} of the evaluation splits (validation when there is one,
    then test)."""
    return {name: (data[name].images.reshape(data[name].num_examples, -1), data[name].labels)
            for name in training_loop.held_out_splits(data)}


def _mlp_numpy(config):
    run_files.prepare_output_dir(config.output_dir, config.overwrite)
    data, fingerprint = load_data(config, one_hot=True)
    config = settle(config, data, fingerprint)
    train_set, splits = data['train'], flat_held_out(data)
    n_inputs, n_classes = int(np.prod(train_set.images.shape[1:])), train_set.labels.shape[1]
    parameters = run_files.check_network_size([n_inputs, *config.dnn_hidden_units, n_classes])
    run_files.check_room(config.output_dir, 4 * parameters, copies=2)
    model = models.build('mlp_numpy', config, n_inputs, n_classes, seed=config.seed)
    loss_module = CrossEntropyModule()

    def train_step(step):
        x, t = train_set.next_batch(config.batch_size)
        return sgd_train_step(model, loss_module, x.reshape(len(x), n_inputs), t, config.learning_rate)

    def evaluate():
        results = {}
        for name, (x, t) in splits.items():
            probabilities = model.forward(x)
            results[name] = (loss_module.forward(probabilities, t), accuracy(probabilities, t))
        return results

    saving = {'save_model': lambda folder: models.save('mlp_numpy', model, config, folder)}
    return Prepared('mlp_numpy', config, train_step, evaluate, saving, config, model, data)


def _autodiff(config):
    run_files.prepare_output_dir(config.output_dir, config.overwrite)
    data, fingerprint = load_data(config, one_hot=False)
    train_set = data['train']
    n_inputs, n_classes = int(np.prod(train_set.images.shape[1:])), AUTODIFF_CLASSES[config.dataset]
    hidden = [4 * n_inputs] if config.dnn_hidden_units is None else config.dnn_hidden_units
    config = settle(config, data, fingerprint, dnn_hidden_units=hidden)
    parameters = run_files.check_network_size([n_inputs, *hidden, n_classes])
    run_files.check_room(config.output_dir, 8 * parameters, copies=2)
    model = models.build('autodiff', config, n_inputs, n_classes, seed=config.seed)

    def train_step(step):
        x, labels = train_set.next_batch(config.batch_size)
        # A diverging run overflows on its way to NaN; the loop reports the NaN, so the warnings add nothing.
        with np.errstate(over='ignore', invalid='ignore'):
            out = model(autodiff.TensorNode(x.reshape(len(x), n_inputs), requires_grad=False))
            loss = autodiff.logceloss(out, labels)
            loss.backward()
            for parameter in model.parameters():
                parameter.value -= config.learning_rate * parameter.grad
        loss.zero_grad()
        loss.clear()
        return float(loss.value), float((out.value.argmax(axis=1) == labels).mean())

    def evaluate():
        return {name: models.evaluate_autodiff(model, data[name]) for name in training_loop.held_out_splits(data)}

    saving = {'save_model': lambda folder: models.save('autodiff', model, config, folder)}
    return Prepared('autodiff', config, train_step, evaluate, saving, config, model, data)


def _on_device(config):
    """The PyTorch runs' start: threads, device and seed set, the folder prepared, the data on the device.
    Returns (device, data, fingerprint, batches, {split: (images, labels)} on the device)."""
    import torch

    from runkit import torch_data
    if config.threads:
        torch.set_num_threads(config.threads)
    device = torch_data.resolve_device(config.device)
    torch_data.seed_everything(config.seed)
    run_files.prepare_output_dir(config.output_dir, config.overwrite, config.resume)
    data, fingerprint = load_data(config, one_hot=False)
    batches = torch_data.DeviceBatches(*torch_data.split_to_device(data['train'], device), config.batch_size,
                                       config.seed)
    splits = {name: torch_data.split_to_device(data[name], device) for name in training_loop.held_out_splits(data)}
    return device, data, fingerprint, batches, splits


def _torch_saving(kind, flag_names, record, model, optimizer, scheduler, batches):
    """training_loop.train's save_model, checkpoint and resumed for a PyTorch run; with --resume, the run there is
    restored first (a problem ends the program in one line)."""
    # model.pt, and checkpoint.pt (the model and up to two optimiser moments) with its temporary copy
    run_files.check_room(record['output_dir'], sum(p.numel() * p.element_size() for p in model.parameters()),
                         copies=7)
    checkpoint = run_files.Checkpoint(kind, dict(record), model, optimizer, scheduler, batches)
    try:
        resumed = checkpoint.restore(record['resume'], flag_names) if record['resume'] else None
    except run_files.ModelFileError as error:
        sys.exit(f'error: --resume: {error}')
    return {'save_model': checkpoint.save_model, 'checkpoint': checkpoint.save, 'resumed': resumed}


def _optimiser(config, model, **options):
    """(optimizer, scheduler, loss function) as config's flags ask for them."""
    import torch

    from runkit import optimisers
    optimizer = optimisers.make_optimizer(config.optimizer, model.parameters(), config.learning_rate,
                                          config.momentum, config.weight_decay, **options)
    scheduler = optimisers.scheduler_for(optimizer, config)
    return optimizer, scheduler, torch.nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)


def _mlp_pytorch(config):
    import torch

    from runkit import torch_data
    flag_names = set(config)
    device, data, fingerprint, batches, splits = _on_device(config)
    # The thread count changes the order of floating-point sums, so a run repeats exactly only with the same count.
    config = settle(config, data, fingerprint, device=str(device), torch_threads=torch.get_num_threads(),
                    steps_per_epoch=batches.steps_per_epoch)
    n_inputs = batches.images[0].numel()
    run_files.check_network_size([n_inputs, *config.dnn_hidden_units, 10])
    model = models.build('mlp_pytorch', config, n_inputs, 10).to(device)
    optimizer, scheduler, loss_function = _optimiser(config, model)

    def train_step(step):
        x, y = batches.next_batch()
        if config.augment:
            x = torch_data.augment(x)
        logits = model(x)
        loss = loss_function(logits, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        return loss.item(), (logits.argmax(dim=1) == y).float().mean().item()

    def evaluate():
        return {name: torch_data.evaluate(model, *tensors, batch_size=models.EVAL_BATCH['mlp_pytorch'])
                for name, tensors in splits.items()}

    saving = _torch_saving('mlp_pytorch', flag_names, config, model, optimizer, scheduler, batches)
    return Prepared('mlp_pytorch', config, train_step, evaluate, saving, config, model, data)


def _convnet(config):
    import torch

    from runkit import torch_data
    flag_names = set(config)
    device, data, fingerprint, batches, splits = _on_device(config)
    amp = torch_data.bf16_is_fast(device) if config.amp is None else config.amp
    config = settle(config, data, fingerprint, amp=amp, device=str(device), torch_threads=torch.get_num_threads(),
                    steps_per_epoch=batches.steps_per_epoch)
    memory_format = torch.channels_last if config.channels_last else torch.contiguous_format
    splits = {name: (images.contiguous(memory_format=memory_format), labels)
              for name, (images, labels) in splits.items()}
    model = models.build('convnet', config, 3 * 32 * 32, 10).to(device, memory_format=memory_format)
    optimizer, scheduler, loss_function = _optimiser(config, model, fused=config.fused, nesterov=config.nesterov)
    forward = torch.compile(model) if config.compile else model
    autocast_dtype = torch.bfloat16 if amp else None
    timing = {'train_steps': 0, 'train_seconds': 0.0, 'train_images_per_second': None}
    train_step = _convnet_step(config, forward, batches, optimizer, scheduler, loss_function, memory_format, timing)

    def evaluate():
        return {name: torch_data.evaluate(forward, *tensors, batch_size=models.EVAL_BATCH['convnet'],
                                          autocast_dtype=autocast_dtype, mirror=config.tta, shift=config.tta_shift)
                for name, tensors in splits.items()}

    record = {**config, 'timing': timing}
    saving = _torch_saving('convnet', flag_names, record, model, optimizer, scheduler, batches)
    if saving['resumed']:  # the resumed run's throughput counts the steps before the interruption too
        timing.update(saving['resumed'][0]['config']['timing'])
    return Prepared('convnet', config, train_step, evaluate, saving, record, model, data)


def _convnet_step(config, forward, batches, optimizer, scheduler, loss_function, memory_format, timing):
    """The ConvNet's train_step, which also keeps `timing` (its steps, seconds and images per second) up to date."""
    import torch

    from runkit import torch_data

    def train_step(step):
        start = time.perf_counter()
        x, y = batches.next_batch()
        if config.augment:
            x = torch_data.augment(x)
        x = x.contiguous(memory_format=memory_format)
        with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=config.amp):
            logits = forward(x)
        loss = loss_function(logits.float(), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        accuracy = (logits.argmax(dim=1) == y).float().mean()
        loss, accuracy = torch.stack([loss.detach(), accuracy]).tolist()  # one device sync, not two
        timing['train_steps'] += 1
        timing['train_seconds'] += time.perf_counter() - start
        timing['train_images_per_second'] = timing['train_steps'] * config.batch_size / timing['train_seconds']
        return loss, accuracy

    return train_step
