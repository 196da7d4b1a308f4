"""Fuzzing the command line: over 500 malformed configs, genomes, weight files, tune configs and paths
(`tests/fuzz_corpus.py`) and hypothesis-drawn `--set` values, all through the real entry point `evolve.cli.main`.
Each ends with exit status 2 and one line naming the problem, or is valid and accepted (status 0); never a
traceback, never more than 30 s or 1 GiB."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors.torch import save_model

from evolve.cli import main
from genomes.base import MutationContext
from genomes.cell_export import trained_module
from genomes.cnn_cell import CnnCellConfig, CnnCellGenome
from genomes.innovation import InnovationTracker
from tests.fuzz_corpus import RUN_KEYS, write_corpus
from tests.neat_helpers import busy_config, grow

REPO = Path(__file__).resolve().parents[1]
SHARDS = 2
MAX_MIB = 1024


def _cell_genome_and_weights(folder: Path) -> tuple[dict, bytes]:
    config = CnnCellConfig(input_shape=[1, 8, 8], num_outputs=3, width=8, widths=[8], cells=2, cells_options=[2])
    genome = CnnCellGenome.initial(config, np.random.default_rng(0), MutationContext(config, InnovationTracker()))
    save_model(trained_module(genome), str(folder / "w.safetensors"))
    return genome.to_dict(), (folder / "w.safetensors").read_bytes()


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> tuple[list[dict], list[dict]]:
    root = tmp_path_factory.mktemp("fuzz")
    cell, weights = _cell_genome_and_weights(root)
    cases = write_corpus(root / "cases", grow(busy_config(), seed=3, steps=12).to_dict(), cell, weights)
    runs = []
    for shard in range(SHARDS):
        (root / f"cases-{shard}.json").write_text(json.dumps(cases[shard::SHARDS]))
        runs.append(subprocess.Popen(
            [sys.executable, "-m", "tests.fuzz_driver", str(root / f"cases-{shard}.json"),
             str(root / f"results-{shard}.jsonl")], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        ))
    for run in runs:
        output = run.communicate(timeout=2400)[0]
        assert run.returncode == 0, output.decode(errors="replace")[-3000:]
    lines = [json.loads(line) for shard in range(SHARDS)
             for line in (root / f"results-{shard}.jsonl").read_text().splitlines()]
    return cases, lines


def _problem(result: dict) -> str | None:
    if result["escaped"]:
        return result["escaped"].strip().splitlines()[-1]
    lines = result["stderr"].strip().splitlines()
    if result["status"] == 2:
        if len(lines) != 1 or not lines[0].startswith("evolve: error: "):
            return f"exit 2 with stderr {result['stderr'][:300]!r}"
    elif result["status"] != 0:
        return f"exit {result['status']!r}: {result['stderr'][-300:]!r}"
    if "Traceback" in result["stderr"]:
        return f"a traceback on stderr: {result['stderr'][-300:]!r}"
    if result["seconds"] > 30:
        return f"took {result['seconds']:.0f} s"
    return None


def test_the_corpus_covers_every_kind_of_input(results):
    cases, _ = results
    assert len(cases) >= 500
    assert {case["name"].split("-")[1] for case in cases} == {
        "value", "toml", "structure", "genome", "weights", "tune", "out", "config", "resume", "render"}


def test_every_malformed_input_is_one_line_and_exit_2_or_accepted(results):
    cases, lines = results
    outcomes = lines
    assert sorted(o["name"] for o in outcomes) == sorted(c["name"] for c in cases), "a driver stopped early"
    problems = {o["name"]: problem for o in outcomes if (problem := _problem(o))}
    assert not problems, f"{len(problems)} cases failed, e.g. " + "; ".join(
        f"{name} {next(o['argv'] for o in outcomes if o['name'] == name)}: {why}"
        for name, why in list(problems.items())[:8])
    refused = sum(o["status"] == 2 for o in outcomes)
    assert refused >= 0.8 * len(outcomes), "the corpus is meant to be malformed: most cases must be refused"


def test_no_input_takes_more_than_a_gibibyte(results):
    _, outcomes = results
    grown = max(outcomes, key=lambda o: o["peak_mib"] - o["before_mib"])
    assert grown["peak_mib"] - grown["before_mib"] < MAX_MIB, (
        f"{grown['name']} {grown['argv']} took {grown['peak_mib'] - grown['before_mib']:.0f} MiB")


VALUES = (st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=True)
          | st.text(max_size=12) | st.lists(st.integers(-3, 3) | st.text(max_size=4), max_size=3))


def _toml_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return "nan" if value != value else ("inf" if value == float("inf") else "-inf" if value == -float("inf")
                                             else repr(value))
    return json.dumps(value, ensure_ascii=False)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(section=st.sampled_from(sorted(RUN_KEYS)), data=st.data(), value=VALUES)
def test_any_set_value_is_accepted_or_one_line(section, data, value):
    key = data.draw(st.sampled_from(RUN_KEYS[section]))
    out = Path(tempfile.mkdtemp()) / "run"
    argv = ["run", str(REPO / "configs" / "xor.toml"), "--generations", "1", "--workers", "0", "--out", str(out),
            "--set", "run.progress=false", "--set", f"{section}.{key}={_toml_text(value)}"]
    stderr = io.StringIO()
    logging.root.handlers.clear()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(stderr):
        status = main(argv)
    lines = stderr.getvalue().strip().splitlines()
    assert status in (0, 2), (argv, stderr.getvalue())
    if status == 2:
        assert len(lines) == 1 and lines[0].startswith("evolve: error: "), (argv, stderr.getvalue())
