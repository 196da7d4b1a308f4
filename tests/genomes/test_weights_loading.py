"""Loaders are bounded: damaged safetensors weights, pathological genome JSON and weight paths outside the run are
one-line errors, never tracebacks or reads elsewhere."""

from __future__ import annotations

import json

import numpy as np
import pytest
from safetensors.torch import save_model

import evolve
from evolve.config import ConfigError
from genomes.base import GenomeError, MutationContext
from genomes.cell_export import check_safetensors, trained_module
from genomes.cnn_cell import CnnCellConfig, CnnCellGenome
from genomes.export import load_genome
from genomes.innovation import InnovationTracker


def _genome(width: int) -> CnnCellGenome:
    config = CnnCellConfig(input_shape=[1, 8, 8], num_outputs=3, width=width, widths=[width], cells=2,
                           cells_options=[2])
    return CnnCellGenome.initial(config, np.random.default_rng(0), MutationContext(config, InnovationTracker()))


@pytest.fixture
def weights(tmp_path):
    path = tmp_path / "w.safetensors"
    save_model(trained_module(_genome(8)), str(path))
    return path


def test_the_right_weights_load_and_wrong_ones_are_one_line_errors(weights, tmp_path):
    assert trained_module(_genome(8), weights) is not None
    with pytest.raises(GenomeError, match="do not fit this genome"):
        trained_module(_genome(4), weights)  # every tensor has another shape
    data = weights.read_bytes()
    cases = {
        "empty": b"",
        "text": b"not a safetensors file at all",
        "truncated": data[: len(data) // 2],
        "huge header": (10**12).to_bytes(8, "little") + b"{}",
        "header not JSON": (5).to_bytes(8, "little") + b"\xff\xfe{{{",
    }
    for name, content in cases.items():
        bad = tmp_path / f"{name}.safetensors"
        bad.write_bytes(content)
        with pytest.raises(GenomeError) as info:
            check_safetensors(bad)
        assert "\n" not in str(info.value), name


@pytest.mark.parametrize("text, fragment", [
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ('{"schema": "neat-genome", "w": ' + "9" * 5000 + "}", "invalid JSON"),
])
def test_pathological_genome_json_is_a_one_line_error(tmp_path, text, fragment):
    path = tmp_path / "g.json"
    path.write_text(text)
    with pytest.raises(GenomeError, match=fragment):
        load_genome(path)


@pytest.mark.parametrize("name", ["/etc/passwd", "../outside.safetensors", ".."])
def test_weights_outside_the_run_directory_are_never_opened(tmp_path, name):
    genome = _genome(4)
    best = tmp_path / "best.json"
    best.write_text(json.dumps({"genome": genome.to_dict(), "weights": name}))
    with pytest.raises(ConfigError, match="must be a file beside it"):
        evolve.export_genome(best, "torchscript", tmp_path / "x.pt")
