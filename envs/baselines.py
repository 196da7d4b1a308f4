"""Hand-designed baselines every searched architecture is compared with, trained with the same budget.

- signals and images: a standard three-layer CNN (conv-BN-ReLU, the second and third with stride 2, global average
  pooling, a linear classifier), the shape of the MNIST-1D paper's CNN baseline;
- sequences: an LSTM and a GRU (torch's cuDNN-backed layers) read the whole sequence; the last hidden state feeds a
  linear head.

Like the searched networks, both have an nn.Dropout (`head_dropout`, built with p = 0, set by the training loop)
right before the head, so `TrainConfig.dropout` regularizes them the same way.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn


class StandardCnn(nn.Module):
    def __init__(self, input_shape: tuple[int, ...], num_outputs: int, width: int = 32) -> None:
        super().__init__()
        dims = len(input_shape) - 1
        conv, norm = (nn.Conv1d, nn.BatchNorm1d) if dims == 1 else (nn.Conv2d, nn.BatchNorm2d)
        kernel = 5 if dims == 1 else 3
        layers: list[nn.Module] = []
        channels = input_shape[0]
        for stride in (1, 2, 2):
            layers += [conv(channels, width, kernel, stride=stride, padding=kernel // 2, bias=False), norm(width),
                       nn.ReLU()]
            channels = width
        self.features = nn.Sequential(*layers)
        self.head_dropout = nn.Dropout(0.0)
        self.head = nn.Linear(width, num_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.head_dropout(self.features(x).flatten(2).mean(dim=2)))


class RecurrentBaseline(nn.Module):
    def __init__(self, cell: str, input_size: int, num_outputs: int, hidden: int = 64) -> None:
        super().__init__()
        self.rnn = (nn.LSTM if cell == "lstm" else nn.GRU)(input_size, hidden, batch_first=True)
        self.head_dropout = nn.Dropout(0.0)
        self.head = nn.Linear(hidden, num_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.head_dropout(self.rnn(x)[0][:, -1]))


def baselines(kind: str, input_shape: tuple[int, ...], num_outputs: int, width: int) -> dict[str, Callable[[], nn.Module]]:
    """Builders of the baselines for a data kind ("image1d", "image2d" or "sequence"), by name."""
    if kind == "sequence":
        return {cell: (lambda cell=cell: RecurrentBaseline(cell, input_shape[-1], num_outputs, width))
                for cell in ("lstm", "gru")}
    return {"cnn": lambda: StandardCnn(input_shape, num_outputs, width)}
