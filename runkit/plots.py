"""Every figure of the project but a run's curves (runkit.plot_curves): decision boundaries, confusion matrices,
image grids, and the studies' figures. matplotlib is imported when a figure is drawn, with the Agg backend (no
screen needed).

Every figure is drawn at the size it prints: at most TEXT_WIDTH wide, the reports' text block, and saved with its
dpi, so that pandoc prints it at its natural size, unscaled. Each is drawn in runkit.FIGURE_STYLE (the @printed
decorator): no text in it under 8 points. None has a title (the report's caption says what it shows), and a legend
sits outside the axes or where the data leaves room."""
import functools
import math
import os

import numpy as np

from runkit import FIGURE_STYLE, SPLIT_COLOURS, TEXT_WIDTH, datasets, pyplot

# One colour per activation in every figure, as runkit.SPLIT_COLOURS has one per split.
ACTIVATION_COLOURS = {'relu': 'tab:red', 'leaky_relu': 'tab:red', 'elu': 'tab:pink', 'sigmoid': 'tab:purple'}


def printed(draw):
    """draw(...) with matplotlib's settings in runkit.FIGURE_STYLE: text of 8 points (axis labels 9), saved at 200
    dpi."""
    @functools.wraps(draw)
    def drawn(*args, **kwargs):
        with pyplot().rc_context(FIGURE_STYLE):
            return draw(*args, **kwargs)
    return drawn


@printed
def plot_decision_boundaries(panels, x, labels, path, split='validation', num_points=2000, extent=3.5):
    """One panel per (name, model) on synth, the name in its upper left corner (a few words: 'sigmoid, lr 0.1'): the
    model's probability of class 1 over the plane, its decision boundary (solid), the true boundary x^T Q x = 0.6
    (dashed), and the first num_points of (x, labels), which are points of `split`. Two panels fill the text's
    width, one takes 3.2 inches."""
    from matplotlib.lines import Line2D

    from runkit import models
    plt, vu_data = pyplot(), datasets.vu2021('vu_data')
    axis = np.linspace(-extent, extent, 241, dtype=np.float32)
    grid = np.stack(np.meshgrid(axis, axis), axis=-1).reshape(-1, 2)
    quadratic_form = np.einsum('bi,ij,bj->b', grid, vu_data.SYNTH_QUADRATIC_FORM, grid)
    size = min(TEXT_WIDTH, 0.9 + 2.3 * len(panels)), 2.9 + 0.6 / len(panels)  # one panel: a legend of four rows
    fig, axes = plt.subplots(1, len(panels), figsize=size, squeeze=False, layout='constrained')
    for ax, (name, model) in zip(axes[0], panels):
        probability = np.exp(models.log_probabilities(model, grid)[:, 1]).reshape(len(axis), len(axis))
        image = ax.contourf(axis, axis, probability, levels=np.linspace(0, 1, 11), cmap='RdBu_r', alpha=0.7)
        ax.contour(axis, axis, probability, levels=[0.5], colors='black', linewidths=1.5)
        ax.contour(axis, axis, quadratic_form.reshape(len(axis), len(axis)), levels=[vu_data.SYNTH_THRESHOLD],
                   colors='black', linestyles='dashed', linewidths=1)
        ax.scatter(*x[:num_points].T, c=np.where(labels[:num_points] == 1, '#67000d', '#08306b'), s=1.5,
                   edgecolors='none')
        ax.set(xlabel='$x_1$', ylabel='$x_2$', xlim=(-extent, extent), ylim=(-extent, extent), aspect='equal')
        ax.text(0.03, 0.97, name, transform=ax.transAxes, ha='left', va='top',
                bbox={'boxstyle': 'round,pad=0.25', 'facecolor': 'white', 'edgecolor': 'none', 'alpha': 0.85})
    fig.colorbar(image, ax=axes[0].tolist(), label='predicted probability of class 1', shrink=0.85)
    fig.legend([Line2D([], [], color='black', linewidth=1.5), Line2D([], [], color='black', linestyle='dashed'),
                Line2D([], [], color='#67000d', marker='.', linestyle='none'),
                Line2D([], [], color='#08306b', marker='.', linestyle='none')],
               ['the network\'s boundary (p = 0.5)', f'the true boundary, $x^T Q x = {vu_data.SYNTH_THRESHOLD}$',
                f'{split} point of class 1', 'of class 0'], loc='outside lower center', ncol=min(2, len(panels)))
    fig.savefig(path)
    plt.close(fig)


@printed
def plot_confusion(analysis, path):
    """The confusion matrix: colours are each true class's shares (rows sum to 1), numbers are counts. Ten classes
    take 4.6 inches."""
    plt = pyplot()

    # counts, which some templates' train() record as floats
    confusion, classes = np.rint(analysis['confusion_matrix']).astype(int), analysis['classes']
    shares = confusion / np.maximum(confusion.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(min(TEXT_WIDTH, 1.6 + 0.3 * len(classes)), 1.0 + 0.3 * len(classes)),
                           layout='constrained')
    image = ax.imshow(shares, cmap='Blues', vmin=0, vmax=1)
    for (true, guess), count in np.ndenumerate(confusion):
        ax.text(guess, true, str(count), ha='center', va='center',
                color='white' if shares[true, guess] > 0.5 else 'black')
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha='right', rotation_mode='anchor')
    ax.set_yticks(range(len(classes)), classes)
    ax.set(xlabel='predicted class', ylabel='true class')
    fig.colorbar(image, ax=ax, label='share of the true class', shrink=0.8)
    fig.savefig(path)
    plt.close(fig)


@printed
def plot_f_beta(f_beta, path):
    """A run of UvA 2022's template: the F-beta of each CIFAR-10 class, one bar per beta (beta 0.1 weighs precision,
    beta 10 recall); the legend above."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(TEXT_WIDTH, 2.6), layout='constrained')
    width = 0.8 / len(f_beta)
    for i, (beta, scores) in enumerate(f_beta.items()):
        ax.bar(np.arange(len(scores)) + (i - (len(f_beta) - 1) / 2) * width, scores, width, label=f'β = {beta}')
    ax.set_xticks(range(len(datasets.CLASSES)), datasets.CLASSES, rotation=30, ha='right', rotation_mode='anchor')
    ax.set_ylabel('F-β on the test set')
    ax.set_ylim(0, 1)
    ax.grid(axis='y', alpha=0.3)
    ax.legend(ncol=len(f_beta), loc='lower center', bbox_to_anchor=(0.5, 1), frameon=False)
    fig.savefig(path)
    plt.close(fig)


def as_picture(image, stretch):
    """(C, H, W) -> (H, W, C) in [0, 1] for imshow: uint8 pixels as they are, or (stretch) any values stretched to
    the image's own range."""
    image = image.astype(np.float64)
    image = (image - image.min()) / max(image.max() - image.min(), 1e-12) if stretch else image / 255
    return image.transpose(1, 2, 0) if image.shape[0] == 3 else image[0]


@printed
def plot_images(images, captions, path, columns=6, stretch=False):
    """A grid of (C, H, W) images as wide as the text, `columns` to a row, each with its caption underneath in
    lines of at most about 16 characters at 6 columns (see as_picture for stretch). Drawn as one mosaic in one axes
    that fills the figure: a hundred axes take seconds to draw."""
    plt = pyplot()

    pictures = [as_picture(image, stretch) for image in images]
    height, width = pictures[0].shape[:2]
    lines = max(caption.count('\n') + 1 for caption in captions)
    cell_width = width + 4
    per_inch = columns * cell_width / TEXT_WIDTH  # the mosaic's pixels per printed inch
    cell_height = height + math.ceil((lines * 1.2 + 0.4) * plt.rcParams['font.size'] / 72 * per_inch)
    rows = -(-len(pictures) // columns)
    mosaic = np.ones((rows * cell_height, columns * cell_width, *pictures[0].shape[2:]))
    fig = plt.figure(figsize=(TEXT_WIDTH, rows * cell_height / per_inch))
    ax = fig.add_axes((0, 0, 1, 1))
    for i, (picture, caption) in enumerate(zip(pictures, captions)):
        top, left = (i // columns) * cell_height, (i % columns) * cell_width + 2
        mosaic[top:top + height, left:left + width] = picture
        ax.text(left + width / 2, top + height + 0.5, caption, ha='center', va='top', linespacing=1.1)
    ax.imshow(mosaic, cmap='gray', vmin=0, vmax=1, interpolation='nearest')
    ax.axis('off')
    fig.savefig(path)
    plt.close(fig)


@printed
def plot_sweep(runs, output_dir):
    """The learning-rate sweep's two figures into output_dir: the best validation accuracy of every rate, a
    diverged rate at the best it reached before diverging and marked as such; and every rate's training loss against
    step, a diverged rate's up to its last finite value, with a cross where it left the axis."""
    plt = pyplot()

    fig, ax = plt.subplots(figsize=(TEXT_WIDTH, 2.9), layout='constrained')
    finished = [run for run in runs if run['status'] == 'completed']
    diverged = [run for run in runs if run['status'] == 'diverged']
    ax.plot([run['learning_rate'] for run in finished], [run['best_validation_accuracy'] for run in finished],
            'o-', color=SPLIT_COLOURS['validation'], label='best validation accuracy')
    if diverged:
        ax.plot([run['learning_rate'] for run in diverged], [run['best_validation_accuracy'] or 0 for run in diverged],
                'x', color=SPLIT_COLOURS['validation'], markersize=9, mew=2,
                label='diverged (loss not finite): best validation accuracy before it diverged')
        for run in diverged:
            ax.annotate(f'step {run["diverged_at_step"]}', (run['learning_rate'], run['best_validation_accuracy'] or 0),
                        textcoords='offset points', xytext=(0, 8), ha='center')
    ax.axhline(0.1, color='grey', linestyle=':', label='chance')
    ax.set_xscale('log')
    ax.set_xlabel('learning rate (plain SGD)')
    ax.set_ylabel('best validation accuracy')
    ax.set_ylim(0, max([0.5] + [run['best_validation_accuracy'] or 0 for run in runs]) + 0.1)
    ax.grid(alpha=0.3, which='both')
    ax.legend(loc='lower center', bbox_to_anchor=(0.5, 1), frameon=False)
    fig.savefig(os.path.join(output_dir, 'validation_accuracy_vs_learning_rate.png'))
    plt.close(fig)

    # Left, the first steps on a logarithmic loss axis, where a divergence is close to a straight line (the loss grows
    # by a roughly constant factor per step), the rates that converge in grey for reference; right, the whole run of
    # those, on a linear axis. The rates are ordered: sequential colour maps, darker for smaller rates. Each panel's
    # legend above it, where it hides none of the lines.
    fig, (early, whole) = plt.subplots(1, 2, figsize=(TEXT_WIDTH, 3.3), layout='constrained')
    first = max((run['diverged_at_step'] for run in diverged), default=50) + 5
    for run, colour in zip(diverged, plt.cm.Reds(np.linspace(0.55, 0.95, len(diverged)))):
        steps, losses = np.array(run['steps']), np.array(run['train_loss'], dtype=float)
        early.plot(steps, losses, '--', color=colour, marker='.',
                   label=f'lr {run["learning_rate"]:g}: diverged at step {run["diverged_at_step"]}')
        early.plot([steps[-1]], [losses[-1]], 'x', color=colour, markersize=9, mew=2)
    for i, (run, colour) in enumerate(zip(finished, plt.cm.viridis(np.linspace(0, 0.9, len(finished))))):
        steps, losses = np.array(run['steps']), np.array(run['train_loss'], dtype=float)
        shown = steps <= first
        early.plot(steps[shown], losses[shown], color='grey', linewidth=1,
                   label='the rates that converge' if i == 0 else None)
        whole.plot(steps, losses, color=colour, linewidth=1, label=f'lr {run["learning_rate"]:g}')
    early.set_yscale('log')
    early.set(xlabel='training step', ylabel='training loss (current batch)')
    whole.set_xscale('log')
    whole.set(xlabel='training step (log scale)', ylabel='training loss (current batch)')
    for ax, columns in ((early, 1), (whole, 2)):
        ax.grid(alpha=0.3, which='both')
        ax.legend(loc='lower center', bbox_to_anchor=(0.5, 1), ncol=columns, frameon=False)
    fig.savefig(os.path.join(output_dir, 'training_loss_per_learning_rate.png'))
    plt.close(fig)


@printed
def plot_seed_spread(study, path):
    """Test accuracy of every seed against step, and the final accuracies against the assignment's figure; one
    legend under both panels."""
    plt = pyplot()

    runs, stats, expectation = study['runs'], study['final_test_accuracy'], study['assignment_expectation']
    fig, (curves, finals) = plt.subplots(1, 2, figsize=(TEXT_WIDTH, 3.2), width_ratios=[2, 1], layout='constrained')
    # From the second evaluation on: the first, after one step, sits at chance and would squash the rest.
    steps = runs[0]['steps'][1:]
    for i, run in enumerate(runs):
        curves.plot(steps, run['test_accuracy'][1:], color=SPLIT_COLOURS['test'], alpha=0.25, linewidth=1,
                    label='one seed' if i == 0 else None)
    curves.plot(steps, np.mean([run['test_accuracy'][1:] for run in runs], axis=0), color=SPLIT_COLOURS['test'],
                linewidth=2.5, label=f'mean of {len(runs)} seeds')
    for ax in (curves, finals):
        ax.axhline(expectation, color='black', linestyle='--',
                   label=f'assignment: "around {expectation}"' if ax is curves else None)
        ax.grid(alpha=0.3)
    curves.set_xlabel('training step')
    curves.set_ylabel('test accuracy (whole test set)')

    seeds = [run['seed'] for run in runs]
    final = [run['final_test_accuracy'] for run in runs]
    finals.plot(seeds, final, 'o', color=SPLIT_COLOURS['test'], markersize=4, label='final test accuracy of a seed')
    finals.axhline(stats['mean'], color='black', label=f'their mean, {stats["mean"]:.4f}')
    finals.axhspan(stats['mean'] - stats['std'], stats['mean'] + stats['std'], color='grey', alpha=0.2,
                   label=f'± one std ({stats["std"]:.4f})')
    finals.set_xlabel('seed')
    finals.set_ylabel('final test accuracy')
    handles, labels = zip(*(pair for ax in (curves, finals) for pair in zip(*ax.get_legend_handles_labels())))
    fig.legend(handles, labels, loc='outside lower center', ncol=3, frameon=False)
    fig.savefig(path)
    plt.close(fig)


@printed
def plot_autodiff_seeds(study, path):
    """The final validation accuracy of every run, one column per activation and learning rate."""
    plt = pyplot()

    fig, ax = plt.subplots(figsize=(TEXT_WIDTH, 2.8), layout='constrained')
    jitter = np.random.default_rng(0)
    for i, group in enumerate(study['groups']):
        finals = [run['final_validation_accuracy'] for run in study['runs']
                  if (run['activation'], run['learning_rate']) == (group['activation'], group['learning_rate'])]
        color = ACTIVATION_COLOURS[group['activation']]
        ax.plot(i + jitter.uniform(-0.15, 0.15, len(finals)), finals, 'o', color=color, alpha=0.7, markersize=4)
    majority = study['validation_majority_share']
    ax.axhline(majority, color='grey', linestyle='--', label=f'always the majority class ({majority:.4f})')
    ax.axhline(1 - majority, color='grey', linestyle=':', label=f'always the minority class ({1 - majority:.4f})')
    ax.set_xticks(range(len(study['groups'])),
                  [f'{group["activation"]}\n{group["learning_rate"]:g}' for group in study['groups']])
    ax.set_xlabel('activation and learning rate')
    ax.set_ylabel('final validation accuracy')
    ax.grid(alpha=0.3, axis='y')
    ax.legend(loc='lower center', bbox_to_anchor=(0.5, 1), ncol=2, frameon=False)
    fig.savefig(path)
    plt.close(fig)


@printed
def plot_sigmoid_vs_relu(metrics, path):
    """Training loss, test accuracy, first-layer gradient norm over training, gradient norm per layer at step 0; one
    legend above the four panels."""
    plt = pyplot()

    fig, axes = plt.subplots(2, 2, figsize=(TEXT_WIDTH, 4.6), layout='constrained')
    axes = axes.ravel()
    for name, run in metrics['runs'].items():
        color = ACTIVATION_COLOURS[name]
        norms = np.array(run['weight_grad_norms'])
        axes[0].plot(run['steps'], run['train_loss'], color=color, linewidth=1, label=name)
        axes[1].plot(run['steps'], run['test_accuracy'], color=color, linewidth=1)
        axes[2].semilogy(run['steps'], norms[:, 0], color=color, linewidth=1)
        axes[3].semilogy(np.arange(1, norms.shape[1] + 1), norms[0], 'o-', color=color, linewidth=1, markersize=4)
    labels = [('training step', 'cross-entropy\n(whole training set)'), ('training step', 'test accuracy'),
              ('training step', r'first layer: $\|\partial L/\partial W^{(1)}\|_F$'),
              ('layer $l$ (1 = input side)', r'$\|\partial L/\partial W^{(l)}\|_F$ at step 0')]
    for ax, (xlabel, ylabel) in zip(axes, labels):
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3, which='both')
    fig.legend(*axes[0].get_legend_handles_labels(), loc='outside upper center', ncol=len(metrics['runs']),
               frameon=False)
    fig.savefig(path)
    plt.close(fig)


@printed
def plot_tta_study(study, path):
    """Validation accuracy of every candidate, the chosen one marked."""
    plt = pyplot()

    candidates = study['candidates']
    labels = [f'{"mirror" if c["tta"] else "no mirror"},\nshift {c["tta_shift"]}\n'
              f'({c["views"]} view{"s" * (c["views"] > 1)})' for c in candidates]
    accuracies = [c['validation_accuracy'] for c in candidates]
    edges = ['black' if c == study['chosen'] else 'none' for c in candidates]
    fig, ax = plt.subplots(figsize=(TEXT_WIDTH, 2.6), layout='constrained')
    # Points, not bars: the axis does not start at 0, the candidates differ by tenths of a point.
    ax.scatter(range(len(candidates)), accuracies, color=SPLIT_COLOURS['validation'], edgecolors=edges, linewidths=1.5,
               s=40, zorder=3)
    for x, accuracy in enumerate(accuracies):
        ax.annotate(f'{accuracy:.4f}', (x, accuracy), textcoords='offset points', xytext=(0, 7), ha='center')
    ax.set_xticks(range(len(candidates)), labels)
    ax.set_xlim(-0.5, len(candidates) - 0.5)
    low, high = min(accuracies), max(accuracies)
    margin = max(high - low, 0.002)
    ax.set_ylim(low - margin, high + margin)
    ax.set_ylabel(f'validation accuracy\n({study["num_validation"]} images)')
    ax.grid(axis='y', alpha=0.3)
    fig.savefig(path)
    plt.close(fig)


@printed
def plot_lr_schedule(config, path):
    """The learning rate of a PyTorch run of config (its metrics.json's) against epoch, recomputed at every step with
    the function its training used (optimisers.lr_factor); 4.5 inches wide, less than the text."""
    plt = pyplot()

    from runkit.optimisers import lr_factor
    total = config['max_steps']
    steps_per_epoch = config.get('steps_per_epoch')  # not recorded by every run: then against steps
    steps = np.arange(total)
    rates = [config['learning_rate'] * lr_factor(config['lr_schedule'], step, total, config['warmup_steps'])
             for step in steps]
    fig, ax = plt.subplots(figsize=(4.5, 2.4), layout='constrained')
    ax.plot(steps / steps_per_epoch if steps_per_epoch else steps, rates)
    ax.set_xlabel('epoch' if steps_per_epoch else 'training step')
    ax.set_ylabel('learning rate')
    ax.grid(alpha=0.3)
    fig.savefig(path)
    plt.close(fig)
