"""Networks of the stress zoos, on 1x16x16 grayscale inputs: the built-in zoo's architectures plus a kernel-5 CNN.

Every network has the built-in zoo's shape, ``head(backbone(x))`` (:class:`Classifier`), so a transfer model swaps
its head as in the built-in zoo and representation targets find ``backbone`` in every one of them.
"""

from __future__ import annotations

from torch import nn

from gifviz.builtin_zoo.architectures import ARCHITECTURES, Classifier, mlp

CHANNELS = 1
SIZE = 16


def cnn_k5(num_classes: int = 10, in_channels: int = CHANNELS) -> Classifier:
    """Conv(5x5)-BN-ReLU-maxpool stages of widths 16, 32, 64, global average pooling: (B, C, H, W) -> (B, K).

    Larger kernels see wider strokes per layer than the 3x3 networks, so a thief of this shape is built differently
    from every source while fitting the same task."""
    layers: list[nn.Module] = []
    cin = in_channels
    for width in (16, 32, 64):
        layers += [
            nn.Conv2d(cin, width, 5, padding=2, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
        ]
        cin = width
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    return Classifier(nn.Sequential(*layers), cin, num_classes)


# The names a stress zoo's manifest gives in ``arch`` (informative: the models ship as TorchScript).
STRESS_ARCHITECTURES = ("cnn_deep", "cnn_small", "cnn_wide", "cnn_k5", "resnet_tiny", "mlp")


def new_network(arch: str, num_classes: int) -> Classifier:
    """An untrained ``arch`` network for ``(B, 1, 16, 16)`` inputs and ``num_classes`` outputs (seed torch first)."""
    if arch == "cnn_k5":
        return cnn_k5(num_classes)
    if arch == "mlp":
        return mlp(num_classes, in_channels=CHANNELS, size=SIZE)
    if arch not in STRESS_ARCHITECTURES:
        raise ValueError(f"unknown stress-zoo architecture {arch!r}; one of {', '.join(STRESS_ARCHITECTURES)}")
    return ARCHITECTURES[arch](num_classes=num_classes, in_channels=CHANNELS)
