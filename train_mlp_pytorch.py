"""Train the PyTorch MLP on CIFAR-10.

    python train_mlp_pytorch.py                    # the NumPy script's defaults: a comparable run
    python train_mlp_pytorch.py --optimizer adamw --batch_norm --augment --lr_schedule onecycle ...

The flags and defaults of train_mlp_numpy.py, plus what tuning needs.
"""
import torch

import torch_utils
import train_utils
from mlp_pytorch import MLP

EVAL_BATCH = 1000  # images per evaluation batch (evaluate.py predicts in the same batches)


def build_parser():
    parser = train_utils.ArgumentParser(description=__doc__.split('\n')[0])
    train_utils.add_mlp_arguments(parser, output_dir='runs/train_mlp_pytorch')
    parser.add_argument('--optimizer', choices=torch_utils.OPTIMIZERS, default='sgd')
    parser.add_argument('--momentum', type=train_utils.non_negative_float, default=0.0, help='for sgd')
    parser.add_argument('--weight_decay', type=train_utils.non_negative_float, default=0.0)
    parser.add_argument('--batch_norm', action='store_true', help='BatchNorm1d after every hidden Linear')
    parser.add_argument('--dropout', type=train_utils.fraction, default=0.0,
                        help='dropout probability after every hidden activation')
    parser.add_argument('--label_smoothing', type=train_utils.fraction, default=0.0,
                        help='weight of the uniform distribution mixed into the targets')
    parser.add_argument('--augment', action='store_true',
                        help='random crops (4 pixels of padding) and horizontal flips of the training images')
    torch_utils.add_schedule_arguments(parser)
    torch_utils.add_device_argument(parser)
    torch_utils.add_resume_argument(parser)
    return parser


def prepare(args):
    """Data, model and optimiser for the parsed flags: (config, train_step, evaluate, saving) for train_utils.train,
    saving being its save_model, checkpoint and resumed (--resume)."""
    torch_utils.resume_into(args)
    device = torch_utils.resolve_device(args.device)
    torch_utils.seed_everything(args.seed)
    data = train_utils.load_data(args, one_hot=False)
    train_images, train_labels = torch_utils.split_to_device(data['train'], device)
    batches = torch_utils.DeviceBatches(train_images, train_labels, args.batch_size, args.seed)
    held_out = {name: torch_utils.split_to_device(data[name], device) for name in train_utils.held_out_splits(data)}

    train_utils.check_network_size([train_images[0].numel(), *args.dnn_hidden_units, 10])
    model = MLP(train_images[0].numel(), args.dnn_hidden_units, 10, args.neg_slope,
                batch_norm=args.batch_norm, dropout=args.dropout, init=args.init).to(device)
    optimizer = torch_utils.make_optimizer(args.optimizer, model.parameters(), args.learning_rate, args.momentum,
                                           args.weight_decay)
    scheduler = torch_utils.scheduler_from_flags(optimizer, args)
    loss_function = torch.nn.CrossEntropyLoss(label_smoothing=args.label_smoothing)

    def train_step(step):
        x, y = batches.next_batch()
        if args.augment:
            x = torch_utils.augment(x)
        logits = model(x)
        loss = loss_function(logits, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        return loss.item(), (logits.argmax(dim=1) == y).float().mean().item()

    def evaluate():
        return {name: torch_utils.evaluate(model, *tensors, batch_size=EVAL_BATCH)
                for name, tensors in held_out.items()}

    # The thread count changes the order of floating-point sums, so a run repeats exactly only with the same count.
    config = {**vars(args), 'device': str(device), 'torch_threads': torch.get_num_threads(),
              'steps_per_epoch': batches.steps_per_epoch}
    return (config, train_step, evaluate,
            torch_utils.saving('mlp_pytorch', config, model, optimizer, scheduler, batches, args))


def load_model(path):
    """(the MLP in a run's model.pt, in eval mode, the run's flags); a ModelFileError when the file cannot be read or
    does not fit the network its flags describe."""
    loaded = torch_utils.load_file(path)
    if loaded['kind'] != 'mlp_pytorch':
        raise train_utils.ModelFileError(f'{path} holds a {loaded["kind"]} model, not the PyTorch MLP')
    with train_utils.model_file_errors(path):
        config, weights = loaded['config'], [value for value in loaded['state_dict'].values() if value.ndim == 2]
        train_utils.check_parameter_count(
            path, [weights[0].shape[1], *config['dnn_hidden_units'], weights[-1].shape[0]],
            sum(weight.numel() + len(weight) for weight in weights))
        model = MLP(weights[0].shape[1], config['dnn_hidden_units'], weights[-1].shape[0], config['neg_slope'],
                    batch_norm=config['batch_norm'], dropout=config['dropout'], init=config['init'])
        torch_utils.load_state(model, loaded['state_dict'], path)
    return model.eval(), config


def main(argv=None):
    args = build_parser().parse_args(argv)
    config, train_step, evaluate, saving = prepare(args)
    return train_utils.train_and_report(config, train_step, evaluate, args, **saving)


if __name__ == '__main__':
    main()
