"""Train the Table 1 ConvNet on CIFAR-10.

    python train_convnet_pytorch.py                 # the assignment's defaults: Adam, lr 1e-4, batch 32, 5000 steps
    python train_convnet_pytorch.py --augment --lr_schedule onecycle --label_smoothing 0.1 ...

The whole training set sits on the device as one tensor, so a step copies nothing from the host.
Speed levers that leave the maths alone: channels-last memory format and fused optimizers (both on by
default), and bfloat16 autocast, on by default only where bf16 is fast: an Ampere or newer GPU, or a CPU
with AVX-512 BF16 or AMX. Older GPUs and AVX2-only CPUs emulate bf16, several times slower than float32.
The run is trainers.py's 'convnet'.
"""
import trainers


def main(argv=None):
    return trainers.run('convnet', argv)


if __name__ == '__main__':
    main()
