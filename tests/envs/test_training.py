"""The supervised training loop: it learns, it is deterministic on CPU, it leaves global RNGs alone, it can be
stopped after any epoch, and it sets the head dropout of every network."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from torch import nn

from envs.baselines import RecurrentBaseline, StandardCnn
from envs.supervised import load
from envs.training import TrainConfig, evaluate, resolve_device, set_head_dropout, train
from genomes.base import MutationContext
from genomes.cnn_cell import CnnCellConfig, CnnCellGenome
from genomes.innovation import InnovationTracker
from genomes.rnn_cell import RnnCellConfig, RnnCellGenome


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


def test_on_epoch_sees_every_epoch_and_can_stop_training():
    data = load("digits", seed=0)
    calls: list[tuple[int, float]] = []
    config = TrainConfig(epochs=4, batch_size=256, device="cpu")

    def stop_after_two(epoch: int, score: float) -> bool:
        calls.append((epoch, score))
        return epoch == 2

    _, result = train(mlp, data, config, seed=2, on_epoch=stop_after_two)
    assert result.epochs == 2 and calls == [(h["epoch"], h["val_score"]) for h in result.history]
    _, full = train(mlp, data, config, seed=2, on_epoch=lambda epoch, score: False)
    assert full.epochs == 4 and full.history[:2] == result.history


class HeadNet(nn.Module):
    """A small classifier with a head dropout and a dropout of its own."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.ReLU(), nn.Dropout(0.1))
        self.head_dropout, self.head = nn.Dropout(0.0), nn.Linear(16, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.head_dropout(self.body(x)))


def without_head_dropout() -> nn.Module:
    model = HeadNet()
    model.head_dropout = nn.Identity()
    return model


def test_train_sets_only_the_head_dropout_and_zero_is_the_network_without_it():
    data = load("digits", seed=0)
    config = TrainConfig(epochs=1, batch_size=256, device="cpu")
    dropped, with_dropout = train(HeadNet, data, replace(config, dropout=0.5), seed=3)
    assert dropped.head_dropout.p == 0.5 and dropped.body[3].p == 0.1
    plain = train(HeadNet, data, config, seed=3)[1]
    assert plain.history == train(without_head_dropout, data, config, seed=3)[1].history
    assert plain.history != with_dropout.history


def tiny_networks() -> dict[str, nn.Module]:
    cnn = CnnCellConfig(input_shape=[1, 8, 8], num_outputs=10, width=4, widths=[4], cells=1, cells_options=[1])
    rnn = RnnCellConfig(input_size=8, num_outputs=10, hidden_size=4, hidden_sizes=[4])
    rng = np.random.default_rng(0)
    return {
        "cell_cnn": CnnCellGenome.initial(cnn, rng, MutationContext(cnn, InnovationTracker())).to_module(),
        "cell_rnn": RnnCellGenome.initial(rnn, rng, MutationContext(rnn, InnovationTracker())).to_module(),
        "standard_cnn": StandardCnn((1, 8, 8), 10, 4),
        "gru": RecurrentBaseline("gru", 8, 10, 4),
    }


@pytest.mark.parametrize("name", ["cell_cnn", "cell_rnn", "standard_cnn", "gru"])
def test_every_network_has_a_head_dropout_that_is_a_no_op_at_zero(name):
    model = tiny_networks()[name].train()
    x = torch.rand(16, 1, 8, 8) if "cnn" in name else torch.rand(16, 8, 8)
    assert model.head_dropout.p == 0.0
    state = torch.random.get_rng_state()
    out = model(x)
    assert torch.equal(torch.random.get_rng_state(), state), "dropout at p = 0 draws no random numbers"
    assert torch.equal(model(x), out)
    assert set_head_dropout(model, 0.5) == 1
    assert not torch.equal(model(x), model(x)), "train mode drops features"
    assert torch.equal(model.eval()(x), model(x)), "eval mode does not"
    model.head_dropout = nn.Identity()
    assert torch.equal(model.train()(x), out), "at p = 0 the layer is the identity"
