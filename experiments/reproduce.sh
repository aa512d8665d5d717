#!/usr/bin/env bash
# The commands behind every committed result, run from the repository root. They write into results/ with
# --overwrite; without it every script refuses to replace a run. Each line takes from
# seconds (the NumPy MLP) to tens of minutes (the tuned runs) on a 2-core CPU; run one with
#   bash experiments/reproduce.sh NAME      (NAME as in the case labels below), or all with no argument.
set -euo pipefail
cd "$(dirname "$0")/.."
# The improved ConvNet's recipe; results/convnet_val trains it on 45,000 images to choose the test-time views on.
# In float32 (--no-amp), as committed: where bf16 is fast the script would autocast, and the run would differ.
CONVNET_BEST=(--optimizer sgd --momentum 0.9 --nesterov --learning_rate 0.1 --weight_decay 5e-4 --label_smoothing 0.1
              --augment --lr_schedule onecycle --warmup_steps 500 --batch_size 128 --epochs 10 --tta --threads 2 --no-amp)
BGU=(--dnn_hidden_units 128 --neg_slope 0 --init kaiming --epochs 10 --learning_rate 0.1 --batch_size 128
     --preprocess standardize --eval_freq 390)

run() {
    case "$1" in
        mlp_numpy)         python train_mlp_numpy.py --output_dir results/mlp_numpy --overwrite
                           python evaluate.py results/mlp_numpy ;;
        mlp_pytorch)       python train_mlp_pytorch.py --output_dir results/mlp_pytorch --overwrite ;;
        mlp_numpy_seeds)   python experiments/seed_spread.py --output_dir results/mlp_numpy_seeds --overwrite ;;
        mlp_numpy_bgu)     python train_mlp_numpy.py "${BGU[@]}" --output_dir results/mlp_numpy_bgu --overwrite ;;
        mlp_pytorch_bgu)   python train_mlp_pytorch.py "${BGU[@]}" --output_dir results/mlp_pytorch_bgu --overwrite ;;
        # BGU question 4.b ii: the same network and SGD under a one-cycle schedule (one epoch of warm-up to 0.1).
        mlp_pytorch_bgu_onecycle) python train_mlp_pytorch.py "${BGU[@]}" --lr_schedule onecycle --warmup_steps 390 \
                               --output_dir results/mlp_pytorch_bgu_onecycle --overwrite ;;
        # BGU's own template through its face (bgu2023/), with the template's defaults: validation on 5,000 images.
        bgu_face)          (cd bgu2023 && python train_mlp_numpy.py --output_dir ../results/bgu_face_mlp_numpy --overwrite
                            python train_mlp_pytorch.py --output_dir ../results/bgu_face_mlp_pytorch --overwrite) ;;
        lr_sweep)          python experiments/sweep_learning_rate.py --output_dir results/lr_sweep --overwrite ;;
        # One thread, as the committed runs had: the thread count changes the order of floating-point sums, and so
        # the curves. The last stage is results/mlp_pytorch_best.
        mlp_pytorch_tuning) OMP_NUM_THREADS=1 python experiments/tune_mlp_pytorch.py --output_dir results --overwrite
                           python experiments/plot_lr_schedule.py results/mlp_pytorch_best
                           OMP_NUM_THREADS=1 python evaluate.py results/mlp_pytorch_best ;;
        sigmoid_vs_relu)   python experiments/sigmoid_vs_relu.py --output_dir results/sigmoid_vs_relu --overwrite ;;
        convnet)           python train_convnet_pytorch.py --threads 1 --output_dir results/convnet --overwrite ;;
        # UvA 2020's pre-activation ResNet (its Figure 5) with that year's defaults, from its folder, in float32 as
        # results/convnet: where bf16 is fast the script would autocast, and the run would differ from CPU to CPU.
        uva2020_convnet)   (cd uva2020 && python train_convnet_pytorch.py --threads 1 --no-amp \
                               --output_dir ../results/uva2020_convnet --overwrite)
                           python evaluate.py results/uva2020_convnet ;;
        convnet_val)       python train_convnet_pytorch.py "${CONVNET_BEST[@]}" --validation_size 5000 --eval_freq 1170 \
                               --output_dir results/convnet_val --overwrite ;;
        convnet_tta_study) python experiments/tta_study.py results/convnet_val --output_dir results/convnet_tta_study \
                               --threads 2 --overwrite ;;
        # Trained with the mirror as its evaluations' views; its analysis averages over the views the study chose
        # (committed: --tta --tta_shift 2).
        convnet_best)      python train_convnet_pytorch.py "${CONVNET_BEST[@]}" --eval_freq 500 \
                               --output_dir results/convnet_best --overwrite
                           python evaluate.py results/convnet_best $(python -c "import json
chosen = json.load(open('results/convnet_tta_study/metrics.json'))['chosen']
print('--tta' if chosen['tta'] else '--no-tta', '--tta_shift', chosen['tta_shift'])") ;;
        # The later UvA templates' own scripts, from their folders, with their texts' settings (one thread each, so
        # that two run side by side on two cores).
        uva2021_compare_batch_norm) (cd uva2021 && OMP_NUM_THREADS=1 python compare_batch_norm.py \
                               --output_dir ../results/uva2021_compare_batch_norm --overwrite) ;;
        uva2022_compare_models) (cd uva2022_2023 && OMP_NUM_THREADS=1 python compare_models.py \
                               --output_dir ../results/uva2022_compare_models --overwrite) ;;
        # Each later template's networks with its defaults (UvA 2024's question 5 f: with and without batch norm)
        uva2020_mlp)       (cd uva2020 && python train_mlp_numpy.py --output_dir ../results/uva2020_mlp_numpy --overwrite
                            python train_mlp_pytorch.py --output_dir ../results/uva2020_mlp_pytorch --overwrite) ;;
        uva2021_mlp)       (cd uva2021 && python train_mlp_numpy.py --output_dir ../results/uva2021_mlp_numpy --overwrite
                            python train_mlp_pytorch.py --output_dir ../results/uva2021_mlp_pytorch --overwrite) ;;
        uva2022_mlp)       (cd uva2022_2023 && python train_mlp_numpy.py --output_dir ../results/uva2022_mlp_numpy \
                               --overwrite
                            python train_mlp_pytorch.py --output_dir ../results/uva2022_mlp_pytorch --overwrite)
                           python experiments/plot_confusion_matrix.py results/uva2022_mlp_numpy ;;
        uva2024_mlp)       (cd uva2024_2025 && python train_mlp_numpy.py --output_dir ../results/uva2024_mlp_numpy \
                               --overwrite
                            python train_mlp_pytorch.py --output_dir ../results/uva2024_mlp_pytorch --overwrite
                            python train_mlp_pytorch.py --use_batch_norm \
                               --output_dir ../results/uva2024_mlp_pytorch_batch_norm --overwrite) ;;
        autodiff_synth)    for activation in sigmoid relu; do
                               python vu2021/train_mlp_autodiff.py --activation $activation \
                                   --output_dir results/autodiff_synth_$activation --overwrite
                               python vu2021/train_mlp_autodiff.py --activation $activation --learning_rate 12.8 \
                                   --output_dir results/autodiff_synth_${activation}_lr12.8 --overwrite
                           done ;;
        autodiff_synth_seeds) python experiments/autodiff_seeds.py --output_dir results/autodiff_synth_seeds --overwrite ;;
        # Not a run: the committed figures drawn again from what their runs logged, in the current style.
        figures)           python experiments/redraw_figures.py results ;;
        *) echo "unknown result $1" >&2; exit 2 ;;
    esac
}

if [ $# -gt 0 ]; then
    for name in "$@"; do run "$name"; done
else
    for name in mlp_numpy mlp_numpy_seeds mlp_pytorch mlp_numpy_bgu mlp_pytorch_bgu mlp_pytorch_bgu_onecycle bgu_face lr_sweep mlp_pytorch_tuning sigmoid_vs_relu autodiff_synth autodiff_synth_seeds uva2020_mlp uva2021_mlp uva2022_mlp uva2024_mlp uva2021_compare_batch_norm uva2022_compare_models convnet uva2020_convnet convnet_val convnet_tta_study convnet_best; do run "$name"; done
fi
