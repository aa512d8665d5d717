"""Train the PyTorch MLP on CIFAR-10.

    python train_mlp_pytorch.py                    # the NumPy script's defaults: a comparable run
    python train_mlp_pytorch.py --optimizer adamw --batch_norm --augment --lr_schedule onecycle ...

The flags and defaults of train_mlp_numpy.py, plus what tuning needs; the run is trainers.py's 'mlp_pytorch'.
"""
import trainers


def main(argv=None):
    return trainers.run('mlp_pytorch', argv)


if __name__ == '__main__':
    main()
