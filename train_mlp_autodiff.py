"""Train the autodiff engine's MLP with mini-batch SGD: the VU variant's experiment (question 9).

    python train_mlp_autodiff.py                         # VU's data and network (synth, one hidden layer of sigmoids)
    python train_mlp_autodiff.py --learning_rate 1.28    # with vugrad's default step (0.01 on its summed loss)
    python train_mlp_autodiff.py --activation relu       # the same with the ReLU op
    python train_mlp_autodiff.py --dataset mnist --epochs 5 --output_dir runs/mnist

One hidden layer four times as wide as the input (VU's choice) unless --dnn_hidden_units says otherwise,
LogSoftmax outputs, the mean cross-entropy (autodiff.logceloss), batches of 128, 20 epochs unless
--max_steps or --epochs says otherwise. On synth the 10,000 validation points are VU's held-out set; the
test split is 10,000 more points from the same distribution. Besides metrics.json and curves.png the run
writes its weights (model.npz) and, on synth, the learned decision boundary (decision_boundary.png).
The run is trainers.py's 'autodiff'.
"""
import os

import trainers
from runkit import plots, training_loop


def main(argv=None):
    run = trainers.prepare('autodiff', argv)
    metrics = trainers.train(run)
    if run.config.dataset == 'synth':
        split = training_loop.held_out_splits(run.data)[0]
        title = f'{run.config.activation}: {split} accuracy {metrics[f"{split}_accuracy"][-1]:.4f}'
        plots.plot_decision_boundaries([(title, run.model)], run.data[split].images, run.data[split].labels,
                                       os.path.join(run.config.output_dir, 'decision_boundary.png'), split)
    return metrics


if __name__ == '__main__':
    main()
