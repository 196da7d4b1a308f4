"""The supervised training loop: it learns, it is deterministic on CPU, and it leaves global RNGs alone."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from envs.supervised import load
from search.train import TrainConfig, evaluate, resolve_device, train


def mlp() -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Dropout(0.1), nn.Linear(32, 10))


class LastStep(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.rnn, self.head = nn.GRU(2, 16, batch_first=True), nn.Linear(16, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.rnn(x)[0][:, -1]).squeeze(-1)


def test_learns_digits_and_scores_test_only_when_asked():
    data = load("digits", seed=0)
    config = TrainConfig(epochs=8, batch_size=64, lr=1e-2, device="cpu")
    _, untested = train(mlp, data, config, seed=1)
    assert untested.test_score is None
    model, result = train(mlp, data, config, seed=1, test=True)
    assert result.val_score > 0.9 and result.test_score > 0.85
    assert result.params == 64 * 32 + 32 + 32 * 10 + 10
    assert result.val_score == max(h["val_score"] for h in result.history)


def test_same_seed_same_training_and_global_rng_untouched():
    data = load("digits", seed=0)
    config = TrainConfig(epochs=3, batch_size=64, device="cpu")
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    a = train(mlp, data, config, seed=7)[1]
    assert torch.equal(torch.rand(3), expected)
    b = train(mlp, data, config, seed=7)[1]
    c = train(mlp, data, config, seed=8)[1]
    assert a.history == b.history and a.history != c.history


def test_regression_learns_the_adding_problem_and_keeps_the_best_epoch():
    data = load("adding", seed=0, length=10)
    config = TrainConfig(epochs=30, batch_size=128, lr=1e-2, patience=3, device="cpu")
    model, result = train(LastStep, data, config, seed=0)
    variance = float(data.val.y.var())
    assert -result.val_score < 0.2 * variance, "a GRU beats predicting the mean on 10-step adding"
    assert evaluate(model, data.val, data, torch.device("cpu"))[1] == pytest.approx(result.val_score, abs=1e-6)


def test_cuda_without_a_gpu_is_a_clear_error():
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(ValueError, match="sees no GPU"):
        resolve_device("cuda")
