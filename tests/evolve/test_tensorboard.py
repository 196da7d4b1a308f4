"""`[log] tensorboard = true`: TensorBoard event files under RUN/tensorboard, read back with TensorBoard's own
reader, that a resumed run continues without repeating a generation."""

from __future__ import annotations

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import evolve
from evolve.config import ConfigError
from tests.run_helpers import REPO

XOR = REPO / "configs" / "xor.toml"
SETTINGS = {"run.progress": False, "run.stop_on_solve": False, "population.size": 40, "log.tensorboard": True}


def _events(run_dir):
    events = EventAccumulator(str(run_dir / "tensorboard"), size_guidance={"scalars": 0, "histograms": 0})
    events.Reload()
    return events


def test_scalars_and_histograms_follow_the_metrics_and_survive_a_resume(tmp_path):
    full = evolve.run(XOR, seed=2, workers=0, generations=5, overrides=SETTINGS, out=tmp_path / "full")
    events = _events(tmp_path / "full")
    best = events.Scalars("fitness/best")
    assert [e.step for e in best] == [0, 1, 2, 3, 4]
    assert [e.value for e in best] == pytest.approx([m["best_fitness"] for m in full.metrics], rel=1e-6)
    assert [e.value for e in events.Scalars("species/count")] == [m["n_species"] for m in full.metrics]
    assert {"fitness/generation", "species/sizes"} <= set(events.Tags()["histograms"])
    assert events.Histograms("fitness/generation")[0].histogram_value.num == 40

    evolve.run(XOR, seed=2, workers=0, generations=3, overrides=SETTINGS, out=tmp_path / "part")
    evolve.resume(tmp_path / "part", generations=5)
    resumed = _events(tmp_path / "part").Scalars("fitness/best")
    assert [e.step for e in resumed] == [0, 1, 2, 3, 4]
    assert [e.value for e in resumed] == [e.value for e in best]


def test_tensorboard_needs_a_run_directory():
    with pytest.raises(ConfigError, match="log.tensorboard writes under the run directory"):
        evolve.run(XOR, seed=2, workers=0, generations=1, overrides=SETTINGS)
