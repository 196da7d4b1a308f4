"""Supervised training of a candidate network: AdamW with a one-cycle schedule, early stopping on validation.

Deterministic on CPU for a given seed and torch thread count (initialization, dropout and batch order all come from
the seed, inside a forked RNG so torch's global generator is left as it was; another thread count changes the order
of floating-point sums); on CUDA, cudnn autotuning and bfloat16 autocast for speed. The
validation split selects; the test split is only scored when asked, for the final report.

Every network the search builds (CellNetwork, RnnNetwork, StandardCnn, RecurrentBaseline) has an nn.Dropout named
`head_dropout` right before its head, created with p = 0 (an identity that draws no random numbers, so results at
dropout 0 equal those of a network without the layer); `train` sets its rate to `TrainConfig.dropout`. Other
dropout layers of a model keep the rates they were built with.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from envs.progress import report_progress
from envs.supervised import Split, SupervisedData
from genomes.params import param


@dataclass
class TrainConfig:
    epochs: int = param(20, ge=1, le=10_000, doc="maximum epochs (the one-cycle schedule spans them all)")
    batch_size: int = param(128, ge=1, le=1 << 20)
    lr: float = param(3e-3, gt=0.0, doc="one-cycle maximum learning rate")
    weight_decay: float = param(1e-4, ge=0.0)
    patience: int = param(5, ge=1, le=10_000, doc="epochs without a better validation score before stopping")
    device: str = param("auto", choices=("auto", "cpu", "cuda"), doc="auto: CUDA when this process sees a GPU")
    amp: bool = param(True, doc="bfloat16 autocast on CUDA (ignored on CPU)")
    dropout: float = param(0.0, ge=0.0, le=0.9, doc="the rate of the dropout layer before each network's head")


@dataclass
class TrainResult:
    val_score: float  # accuracy, or minus the mean squared error for regression: higher is better
    val_loss: float
    epochs: int
    params: int
    seconds: float
    history: list[dict[str, float]] = field(default_factory=list)
    test_score: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Run a block with torch's CPU generator seeded, restoring the global generator afterwards."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' asked for, but this process sees no GPU")
    return torch.device(name)


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


HEAD_DROPOUT = "head_dropout"  # the attribute name of a network's dropout layer before its head

EpochCallback = Callable[[int, float], bool]


def set_head_dropout(model: nn.Module, rate: float) -> int:
    """Set the rate of every nn.Dropout registered as `head_dropout` in `model`; returns how many there are."""
    layers = [m for name, m in model.named_modules()
              if isinstance(m, nn.Dropout) and name.rpartition(".")[2] == HEAD_DROPOUT]
    for layer in layers:
        layer.p = rate
    return len(layers)


def train(
    build: Callable[[], nn.Module], data: SupervisedData, config: TrainConfig, seed: int, test: bool = False,
    on_epoch: EpochCallback | None = None,
) -> tuple[nn.Module, TrainResult]:
    """Build a model (inside the seeded RNG), set its head dropout to `config.dropout` and train it on data.train,
    keeping the weights of the best validation epoch. Returns the model and its result; with `test`, the test split
    is scored too. `on_epoch(epoch, val_score)` (epochs from 1) is called after every epoch; when it returns True,
    training stops there (an Optuna pruner's hook)."""
    device = resolve_device(config.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    started = time.perf_counter()
    with seeded(seed):
        model = build().to(device)
        set_head_dropout(model, config.dropout)
        optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        steps = config.epochs * -(-len(data.train) // config.batch_size)
        schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.lr, total_steps=steps)
        x, y = _tensors(data.train, device)
        order = torch.Generator().manual_seed(seed)
        loss_fn = _loss(data)
        best_score, best_state, since_best, history = -np.inf, None, 0, []
        for epoch in range(config.epochs):
            model.train()
            for batch in torch.randperm(len(y), generator=order).split(config.batch_size):
                batch = batch.to(device)
                with _autocast(device, config.amp):
                    loss = loss_fn(model(x[batch]).float(), y[batch])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                schedule.step()
            val_loss, val_score = evaluate(model, data.val, data, device, config.amp)
            history.append({"epoch": epoch + 1, "train_loss": float(loss.detach()), "val_loss": val_loss, "val_score": val_score})
            report_progress(f"epoch {epoch + 1}/{config.epochs}: validation {val_score:.4g}")
            if val_score > best_score:
                best_score, best_state, since_best = val_score, copy.deepcopy(model.state_dict()), 0
            else:
                since_best += 1
            if (on_epoch is not None and on_epoch(epoch + 1, val_score)) or since_best >= config.patience:
                break
    if best_state is not None:  # None only when no epoch scored a number (a diverged, NaN regression)
        model.load_state_dict(best_state)
    best = max(history, key=lambda h: h["val_score"])
    result = TrainResult(best["val_score"], best["val_loss"], len(history), count_params(model),
                         time.perf_counter() - started, history)
    if test:
        result.test_score = evaluate(model, data.test, data, device, config.amp)[1]
    return model, result


@torch.no_grad()
def evaluate(model: nn.Module, split: Split, data: SupervisedData, device: torch.device, amp: bool = True,
             batch_size: int = 1024) -> tuple[float, float]:
    """(mean loss, score) on a split: score is accuracy, or minus the mean squared error for regression."""
    model.eval()
    x, y = _tensors(split, device)
    outputs = []
    for start in range(0, len(y), batch_size):
        with _autocast(device, amp):
            outputs.append(model(x[start : start + batch_size]).float())
    out = torch.cat(outputs)
    loss = float(_loss(data)(out, y))
    if data.regression:
        return loss, -loss
    return loss, float((out.argmax(dim=1) == y).float().mean())


def _tensors(split: Split, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.as_tensor(split.x, device=device), torch.as_tensor(split.y, device=device)


def _loss(data: SupervisedData) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    if data.regression:
        return lambda out, y: nn.functional.mse_loss(out.reshape(y.shape), y)
    return nn.functional.cross_entropy


def _autocast(device: torch.device, amp: bool):
    return torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp and device.type == "cuda")
