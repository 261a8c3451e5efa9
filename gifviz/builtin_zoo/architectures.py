"""Small architectures of the built-in zoo, each ``head(backbone(x))`` with ``backbone(x)`` ``(B, F)``.

A shared shape (a backbone giving penultimate features, a linear head) lets a transfer model swap its head, lets a
linear probe read frozen features, and gives representation targets and CKA one default layer: ``backbone``.
Heterogeneity is the point of ModelGiF, so the zoo mixes convolutions, an MLP, residual blocks and attention.

This module needs nothing from gifviz: :data:`ARCHITECTURES` names each builder, and the hub's registry
(:mod:`gifviz.hub.architectures`) starts from that table, so a manifest can say ``arch = "cnn_small"``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn


class Classifier(nn.Module):
    """``head(backbone(x))``: (B, C, H, W) -> (B, num_classes)."""

    def __init__(self, backbone: nn.Module, features: int, num_classes: int) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = nn.Linear(features, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x))


def _conv_block(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


def conv_net(widths: tuple[int, ...], num_classes: int, in_channels: int = 3) -> Classifier:
    """Conv-BN-ReLU blocks, 2x2 max pooling after each, global average pooling."""
    layers: list[nn.Module] = []
    cin = in_channels
    for width in widths:
        layers += [*_conv_block(cin, width), nn.MaxPool2d(2)]
        cin = width
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    return Classifier(nn.Sequential(*layers), cin, num_classes)


def cnn_small(num_classes: int = 10, in_channels: int = 3) -> Classifier:
    return conv_net((16, 32, 64), num_classes, in_channels)


def cnn_wide(num_classes: int = 10, in_channels: int = 3) -> Classifier:
    return conv_net((32, 64, 96), num_classes, in_channels)


def cnn_deep(num_classes: int = 10, in_channels: int = 3) -> Classifier:
    """Two convolutions per stage."""
    layers: list[nn.Module] = []
    cin = in_channels
    for width in (16, 32, 64):
        layers += [*_conv_block(cin, width), *_conv_block(width, width), nn.MaxPool2d(2)]
        cin = width
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    return Classifier(nn.Sequential(*layers), cin, num_classes)


def mlp(num_classes: int = 10, in_channels: int = 3, size: int = 32) -> Classifier:
    backbone = nn.Sequential(
        nn.Flatten(),
        nn.Linear(in_channels * size * size, 128),
        nn.ReLU(inplace=True),
        nn.Linear(128, 128),
        nn.ReLU(inplace=True),
    )
    return Classifier(backbone, 128, num_classes)


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(cin, cout, 3, stride, 1, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True),
            nn.Conv2d(cout, cout, 3, 1, 1, bias=False),
            nn.BatchNorm2d(cout),
        )
        self.skip = (
            nn.Identity()
            if stride == 1 and cin == cout
            else nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
        )
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.body(x) + self.skip(x))


def resnet_tiny(num_classes: int = 10, in_channels: int = 3) -> Classifier:
    backbone = nn.Sequential(
        *_conv_block(in_channels, 16),
        BasicBlock(16, 16, 1),
        BasicBlock(16, 32, 2),
        BasicBlock(32, 64, 2),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
    )
    return Classifier(backbone, 64, num_classes)


class TinyViTBackbone(nn.Module):
    """A small convolutional stem makes 8x8 tokens (a hybrid ViT: plain patch embedding does not learn from a few
    thousand images in a CPU budget), then learned positions, a class token and pre-norm attention -> (B, dim)."""

    def __init__(self, in_channels: int, size: int, patch: int, dim: int, depth: int, heads: int) -> None:
        super().__init__()
        self.embed = nn.Sequential(
            nn.Conv2d(in_channels, dim // 2, 3, 2, 1),
            nn.GELU(),
            nn.Conv2d(dim // 2, dim, 3, patch // 2, 1),
        )
        tokens = (size // patch) ** 2
        self.position = nn.Parameter(torch.zeros(1, tokens + 1, dim))
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        nn.init.trunc_normal_(self.position, std=0.02)
        layer = nn.TransformerEncoderLayer(dim, heads, dim * 2, dropout=0.0, batch_first=True, norm_first=True)
        # Nested-tensor fast paths are inference-only and would hide the input gradient; keep the plain path.
        self.encoder = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = self.embed(x).flatten(2).transpose(1, 2)
        tokens = torch.cat([self.cls.expand(x.shape[0], -1, -1), tokens], dim=1) + self.position
        return self.norm(self.encoder(tokens)[:, 0])


def vit_tiny(num_classes: int = 10, in_channels: int = 3, size: int = 32) -> Classifier:
    return Classifier(TinyViTBackbone(in_channels, size, 4, 64, 3, 4), 64, num_classes)


class TorchvisionClassifier(Classifier):
    """A torchvision network whose final linear layer becomes ``head``, so it has the zoo's shape too."""


def tv_shufflenet(num_classes: int = 10, in_channels: int = 3) -> Classifier:
    """torchvision's ShuffleNetV2 x0.5, head split off."""
    import torchvision  # on first use: importing it costs seconds, and most zoos hold no torchvision model

    if in_channels != 3:
        raise TypeError("tv_shufflenet takes 3-channel inputs")
    network = torchvision.models.shufflenet_v2_x0_5(weights=None, num_classes=num_classes)
    features = network.fc.in_features
    network.fc = nn.Identity()
    return TorchvisionClassifier(network, features, num_classes)


# name -> builder(num_classes=..., in_channels=..., ...) -> Classifier; the names manifests use in ``arch``.
ARCHITECTURES: dict[str, Callable[..., Classifier]] = {
    "cnn_small": cnn_small,
    "cnn_wide": cnn_wide,
    "cnn_deep": cnn_deep,
    "mlp": mlp,
    "resnet_tiny": resnet_tiny,
    "vit_tiny": vit_tiny,
    "tv_shufflenet": tv_shufflenet,
}
