"""Nothing is lost in a run directory: torn metrics and a damaged newest checkpoint resume exactly, `out` never
overwrites a folder or file that is not a new run, exports never replace a run's own files, and a config without a
task is an error rather than XOR."""

from __future__ import annotations

import json
import logging

import pytest

import evolve
from evolve.checkpoint import CheckpointError, checkpoints
from evolve.config import ConfigError
from tests.run_helpers import REPO

XOR = REPO / "configs" / "xor.toml"
SETTINGS = {"run.progress": False, "run.stop_on_solve": False, "species.target_species": 5,
            "run.checkpoint_seconds": 0}


def _run(out, generations):
    return evolve.run(XOR, seed=5, workers=0, generations=generations, overrides=SETTINGS, out=out)


def _timeless(metrics):
    return [{k: v for k, v in m.items() if k != "wall_seconds"} for m in metrics]


@pytest.fixture(scope="module")
def full():
    return _timeless(evolve.run(XOR, seed=5, workers=0, generations=8, overrides=SETTINGS).metrics)


def test_a_torn_metrics_line_is_dropped_and_the_run_resumes_exactly(tmp_path, full, caplog):
    run = tmp_path / "run"
    _run(run, 5)
    with (run / "metrics.jsonl").open("a") as f:
        f.write('{"generation": 5, "evalua')  # a crash in the middle of a write
    with caplog.at_level(logging.WARNING):
        resumed = evolve.resume(run, generations=8)
    assert "torn or damaged" in caplog.text
    assert _timeless(resumed.metrics) == full
    assert all(json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines())


def test_a_damaged_newest_checkpoint_falls_back_to_an_older_one(tmp_path, full, caplog):
    run = tmp_path / "run"
    _run(run, 6)
    *older, newest = checkpoints(run)
    assert len(older) == 2
    newest.write_text(newest.read_text()[:100])
    with caplog.at_level(logging.WARNING):
        resumed = evolve.resume(run, generations=8)
    assert "trying the checkpoint before it" in caplog.text
    assert _timeless(resumed.metrics) == full
    for path in checkpoints(run):
        path.write_text("{}")
    with pytest.raises(CheckpointError, match="gen-000008.json: not a checkpoint"):
        evolve.resume(run, generations=9)


class Interrupt(evolve.Callback):
    """Stands for Ctrl-C arriving after generation `at`."""

    def __init__(self, at):
        self.at = at

    def on_generation(self, record):
        if record.generation == self.at:
            raise KeyboardInterrupt


def test_between_checkpoints_an_interrupted_run_still_saves_its_last_generation(tmp_path, full):
    run = tmp_path / "run"
    rare = {**SETTINGS, "run.checkpoint_seconds": 3600}
    evolve.run(XOR, seed=5, workers=0, generations=8, overrides=rare, out=run / "whole")
    assert [p.name for p in checkpoints(run / "whole")] == ["gen-000008.json"]  # only at the end
    with pytest.raises(KeyboardInterrupt):
        evolve.run(XOR, seed=5, workers=0, generations=8, overrides=rare, out=run / "cut", callbacks=[Interrupt(3)])
    assert [p.name for p in checkpoints(run / "cut")] == ["gen-000004.json"]
    assert _timeless(evolve.resume(run / "cut").metrics) == full


def test_out_never_overwrites_what_is_not_a_new_run(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    with pytest.raises(ConfigError, match="not empty"):
        _run(folder, 1)
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]
    with pytest.raises(ConfigError, match="is a file"):
        _run(folder / "notes.txt", 1)
    with pytest.raises(ConfigError, match="is a file, not a folder"):
        _run(folder / "notes.txt" / "run", 1)
    empty = tmp_path / "empty"
    empty.mkdir()
    assert _run(empty, 1).run_dir == empty and (empty / "best.json").is_file()


def test_an_export_never_replaces_the_runs_own_files(tmp_path):
    run = tmp_path / "run"
    _run(run, 2)
    before = (run / "best.json").read_bytes()
    for target in (run / "best.json", run / "summary.json", run / "checkpoints" / "x.json"):
        with pytest.raises(ConfigError, match="the run's own"):
            evolve.export_genome(run, "json", target)
    assert (run / "best.json").read_bytes() == before
    assert evolve.export_genome(run, "json", tmp_path / "best-copy.json").is_file()


def test_a_config_without_a_task_is_an_error_not_xor(tmp_path):
    with pytest.raises(ConfigError, match="env.id is missing"):
        evolve.run({"population": {"size": 20}})
    run = tmp_path / "run"
    _run(run, 1)
    (run / "config.toml").write_text("")  # what a non-atomic rewrite could leave after a crash
    with pytest.raises(ConfigError, match="env.id is missing"):
        evolve.resume(run)
