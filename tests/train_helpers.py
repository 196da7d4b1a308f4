"""A few optimizer steps on one batch, for tests that a built module can learn at all."""

from __future__ import annotations

from collections.abc import Callable

import torch


def fit_losses(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor,
               loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], steps: int, lr: float) -> list[float]:
    """The loss before each of `steps` AdamW steps on the batch (x, y)."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses
