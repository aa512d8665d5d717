"""UvA 2020's convnet_pytorch.py: the ConvNet of the 2020 text's Figure 5, a VGG13-like network with pre-activation
skip connections, in PyTorch.

    model = ConvNet(n_channels=3, n_classes=10)
    logits = model(images)          # images: (N, 3, 32, 32) -> logits: (N, 10)

conv0 lifts the image to 64 channels; each stage is pre-activation ResNet blocks (x + conv(relu(bn(x)))) on a
constant channel count, a 1x1 convolution that widens the channels where the next stage is wider, and a 3x3
max-pool with stride 2 that halves the feature map (32 -> 16 -> 8 -> 4 -> 2 -> 1). A batch norm and a ReLU come
before the linear classifier on the 512 channels. The convolutions carry no activation of their own, and every
layer keeps PyTorch's default initialisation, as the text asks.
"""
from collections import OrderedDict

import torch.nn as nn


class PreActBlock(nn.Module):
    """The simplified pre-activation ResNet block of Figure 5, right: x + conv3x3(relu(batchnorm(x))).

    (N, channels, H, W) -> (N, channels, H, W).
    """

    def __init__(self, channels):
        super().__init__()
        self.bn = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU()
        self.conv = nn.Conv2d(channels, channels, kernel_size=3, stride=1, padding=1)

    def forward(self, x):
        return x + self.conv(self.relu(self.bn(x)))


class ConvNet(nn.Sequential):
    """Figure 5's table as an nn.Sequential whose children carry the table's names.

    model.conv0 ... model.conv3 are plain convolutions (no activation), model.PreAct1 ... model.PreAct5_b are
    PreActBlocks (model.PreAct1.bn, .relu, .conv), model.maxpool1 ... model.maxpool5 are 3x3 max-pools with stride
    2 and padding 1; model.bn and model.relu come before model.linear, which maps the 512 features to the class
    scores.

    Args:
        n_channels: channels of the input images (3 for CIFAR-10).
        n_classes: number of classes (10 for CIFAR-10).
    """

    def __init__(self, n_channels, n_classes):
        def maxpool():  # halves the height and width
            return nn.MaxPool2d(kernel_size=3, stride=2, padding=1)

        super().__init__(OrderedDict([
            ('conv0', nn.Conv2d(n_channels, 64, kernel_size=3, stride=1, padding=1)),  # (N, 64, 32, 32)
            ('PreAct1', PreActBlock(64)),
            ('conv1', nn.Conv2d(64, 128, kernel_size=1, stride=1, padding=0)),         # (N, 128, 32, 32)
            ('maxpool1', maxpool()),                                                   # (N, 128, 16, 16)
            ('PreAct2_a', PreActBlock(128)),
            ('PreAct2_b', PreActBlock(128)),
            ('conv2', nn.Conv2d(128, 256, kernel_size=1, stride=1, padding=0)),        # (N, 256, 16, 16)
            ('maxpool2', maxpool()),                                                   # (N, 256, 8, 8)
            ('PreAct3_a', PreActBlock(256)),
            ('PreAct3_b', PreActBlock(256)),
            ('conv3', nn.Conv2d(256, 512, kernel_size=1, stride=1, padding=0)),        # (N, 512, 8, 8)
            ('maxpool3', maxpool()),                                                   # (N, 512, 4, 4)
            ('PreAct4_a', PreActBlock(512)),
            ('PreAct4_b', PreActBlock(512)),
            ('maxpool4', maxpool()),                                                   # (N, 512, 2, 2)
            ('PreAct5_a', PreActBlock(512)),
            ('PreAct5_b', PreActBlock(512)),
            ('maxpool5', maxpool()),                                                   # (N, 512, 1, 1)
            ('bn', nn.BatchNorm2d(512)),                                               # before the classifier
            ('relu', nn.ReLU()),
            ('flatten', nn.Flatten()),                                                 # (N, 512)
            ('linear', nn.Linear(512, n_classes)),
        ]))

    def forward(self, x):
        """x: (N, n_channels, 32, 32) images -> (N, n_classes) logits (unnormalised scores)."""
        return super().forward(x)
