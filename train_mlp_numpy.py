"""Train the NumPy MLP on CIFAR-10 with mini-batch SGD.

    python train_mlp_numpy.py                      # the assignment's defaults
    python train_mlp_numpy.py --dnn_hidden_units 200,100 --learning_rate 1e-3 --output_dir results/deeper

The run (its flags, data, steps and files) is trainers.py's 'mlp_numpy'; the network is mlp_numpy.MLP, each of its
layers a forward and a hand-derived backward in modules.py.
"""
import trainers


def main(argv=None):
    return trainers.run('mlp_numpy', argv)


if __name__ == '__main__':
    main()
