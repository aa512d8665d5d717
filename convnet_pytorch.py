"""The VGG-style ConvNet of the assignment's Table 1, in PyTorch.

    model = ConvNet(n_channels=3, n_classes=10)
    logits = model(images)          # images: (N, 3, 32, 32) -> logits: (N, 10)

Five stages of 3x3 convolutions, each stage ending in a 3x3 max-pool with stride 2 that halves
the feature map (32 -> 16 -> 8 -> 4 -> 2 -> 1), then a linear classifier on the 512 channels.
"""
from collections import OrderedDict

import torch.nn as nn

from custom_batchnorm import CustomBatchNormManualModule

BATCH_NORMS = ('none', 'torch', 'custom')


def autocast_safe_batch_norm(channels):
    """custom_batchnorm.CustomBatchNormManualModule(channels) computing in its parameters' dtype, under autocast too.

    nn.BatchNorm2d accumulates its statistics in float32 whatever the input's dtype; the
    hand-written one computes in the input's dtype, which under bfloat16 autocast is bfloat16.
    The next convolution casts the float32 output back down, so only the statistics change.
    """
    class AutocastSafeBatchNorm(CustomBatchNormManualModule):
        def forward(self, input):
            """input: (N, C, H, W) of any float dtype -> (N, C, H, W) in gamma's dtype."""
            return super().forward(input.to(self.gamma.dtype))

    return AutocastSafeBatchNorm(channels)


def conv_block(in_channels, out_channels, batch_norm='torch'):
    """Conv2d 3x3 (stride 1, padding 1, with bias) -> batch norm (an identity with batch_norm='none') -> ReLU.

    (N, in_channels, H, W) -> (N, out_channels, H, W).
    """
    norms = {'none': lambda channels: nn.Identity(), 'torch': nn.BatchNorm2d, 'custom': autocast_safe_batch_norm}
    norm = norms[batch_norm]
    return nn.Sequential(OrderedDict([
        ('conv', nn.Conv2d(in_channels, out_channels, kernel_size=3, stride=1, padding=1)),
        ('bn', norm(out_channels)),
        ('relu', nn.ReLU()),
    ]))


class ConvNet(nn.Sequential):
    """Table 1 as an nn.Sequential whose children carry the table's names.

    model.conv1 ... model.conv5_b are conv blocks (model.conv1.conv, .bn, .relu),
    model.maxpool1 ... model.maxpool5 are 3x3 max-pools with stride 2 and padding 1,
    model.avgpool is the table's 1x1 average pool (an identity on the 1x1 map it gets),
    model.linear maps the 512 features to the class scores.
    Layers keep PyTorch's default initialisation.

    Args:
        n_channels: channels of the input images (3 for CIFAR-10).
        n_classes: number of classes (10 for CIFAR-10).
        batch_norm: 'torch' for nn.BatchNorm2d, 'custom' for the project's own
            CustomBatchNormManualModule (custom_batchnorm.py), 'none' for none.
    """

    def __init__(self, n_channels, n_classes, batch_norm='torch'):
        if batch_norm not in BATCH_NORMS:
            raise ValueError(f'batch_norm must be one of {BATCH_NORMS}, got {batch_norm!r}')

        def conv(in_channels, out_channels):
            return conv_block(in_channels, out_channels, batch_norm)

        def maxpool():  # halves the height and width
            return nn.MaxPool2d(kernel_size=3, stride=2, padding=1)

        super().__init__(OrderedDict([
            ('conv1', conv(n_channels, 64)),   # (N, 64, 32, 32)
            ('maxpool1', maxpool()),           # (N, 64, 16, 16)
            ('conv2', conv(64, 128)),          # (N, 128, 16, 16)
            ('maxpool2', maxpool()),           # (N, 128, 8, 8)
            ('conv3_a', conv(128, 256)),       # (N, 256, 8, 8)
            ('conv3_b', conv(256, 256)),
            ('maxpool3', maxpool()),           # (N, 256, 4, 4)
            ('conv4_a', conv(256, 512)),       # (N, 512, 4, 4)
            ('conv4_b', conv(512, 512)),
            ('maxpool4', maxpool()),           # (N, 512, 2, 2)
            ('conv5_a', conv(512, 512)),
            ('conv5_b', conv(512, 512)),
            ('maxpool5', maxpool()),           # (N, 512, 1, 1)
            ('avgpool', nn.AvgPool2d(kernel_size=1, stride=1, padding=0)),
            ('flatten', nn.Flatten()),         # (N, 512)
            ('linear', nn.Linear(512, n_classes)),
        ]))

    def forward(self, x):
        """x: (N, n_channels, 32, 32) images -> (N, n_classes) logits (unnormalised scores)."""
        return super().forward(x)
