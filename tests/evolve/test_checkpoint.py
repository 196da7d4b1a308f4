"""Checkpoints and other run files are written atomically: a failed write leaves the previous file intact."""

from __future__ import annotations

import json

import pytest

from evolve.checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint
from genomes.atomic_io import write_json_atomic


def test_failed_write_keeps_the_old_file_and_leaves_no_temporaries(tmp_path):
    path = tmp_path / "best.json"
    write_json_atomic(path, {"fitness": 1.0})
    with pytest.raises(ValueError):
        write_json_atomic(path, {"fitness": float("nan")})  # strict JSON: NaN is refused before anything is renamed
    with pytest.raises(TypeError):
        write_json_atomic(path, {"fitness": object()})
    assert json.loads(path.read_text()) == {"fitness": 1.0}
    assert [p.name for p in tmp_path.iterdir()] == ["best.json"]
    assert path.stat().st_mode & 0o644 == 0o644, "readable like any other file, not 0600"


def test_checkpoints_rotate_and_reload(tmp_path):
    for generation in range(1, 6):
        save_checkpoint(tmp_path, generation, {"generation": generation}, {"evaluations": generation}, keep=3)
    names = sorted(p.name for p in (tmp_path / "checkpoints").iterdir())
    assert names == ["gen-000003.json", "gen-000004.json", "gen-000005.json"]
    data = load_checkpoint(latest_checkpoint(tmp_path))
    assert data["state"] == {"generation": 5} and data["run"] == {"evaluations": 5}
