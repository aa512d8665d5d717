"""What the training scripts share: the curves' legends say what each curve measures."""
import matplotlib.figure
import matplotlib.pyplot as plt
import pytest

import train_utils


@pytest.mark.parametrize('config,train_loss,train_accuracy', [
    ({'learning_rate': 0.01, 'label_smoothing': 0.0, 'dropout': 0.0, 'augment': False},
     'train: cross-entropy,\ncurrent batch', 'train: current batch'),
    ({'label_smoothing': 0.1, 'dropout': 0.2, 'augment': True},
     'train: label-smoothed (0.1) cross-entropy,\ncurrent batch\n(dropout 0.2, crops and flips)',
     'train: current batch\n(dropout 0.2, crops and flips)'),
], ids=['plain', 'regularised'])
def test_curves_label_the_training_loss_for_what_it_measures(tmp_path, monkeypatch, config, train_loss,
                                                             train_accuracy):
    figures, close = [], plt.close
    monkeypatch.setattr(plt, 'close', figures.append)
    monkeypatch.setattr(matplotlib.figure.Figure, 'savefig', lambda figure, path, **kwargs: None)  # the legends will do
    metrics = {'config': config, 'status': 'completed', 'steps': [1, 2], 'final_test_accuracy': 0.2,
               **{f'{split}_{quantity}': [0.1, 0.2] for split in ('train', 'test') for quantity in ('loss', 'accuracy')}}
    train_utils.plot_curves(metrics, tmp_path / 'curves.png')
    (figure,) = figures
    loss, accuracy = figure.axes
    assert loss.get_ylabel() == 'loss' and accuracy.get_ylabel() == 'accuracy'
    assert [text.get_text() for text in loss.get_legend().get_texts()] == [train_loss, 'test: cross-entropy, whole set']
    assert [text.get_text() for text in accuracy.get_legend().get_texts()] == [train_accuracy, 'test: whole set']
    close(figure)
