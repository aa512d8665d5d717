"""UvA 2023's compare_batch_norm.py: 2022's compare_models.py (beside it) under the name 2023's template gives that
file: train_models(results_filename) and plot_results(results_filename). No question of the 2023 text uses it.

    python compare_batch_norm.py --epochs 2 --output_dir /tmp/compare
"""
from compare_models import HIDDEN_DIMS, main, plot_results, train_models  # noqa: F401 (the template's names)

if __name__ == '__main__':
    main()
