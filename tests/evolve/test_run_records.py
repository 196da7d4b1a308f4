"""What a run records for plots and dashboards: species with sizes and fitness per generation, every generation's
champion, figures that agree between the last line, summary.json and best.json, progress lines for logs, and
`evolve plot`."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass

import numpy as np
import pytest

import evolve
from envs.xor import XorTask
from evolve.callbacks import ProgressLines
from evolve.plot import species_sizes
from tests.run_helpers import REPO

XOR = REPO / "configs" / "xor.toml"
SETTINGS = {"run.progress": False, "run.stop_on_solve": False, "population.size": 60}


def evolve_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "evolve.cli", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=300)


@pytest.fixture(scope="module")
def xor_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("records") / "run"
    return evolve.run(XOR, seed=3, workers=0, generations=8, overrides=SETTINGS, out=out)


def _lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_species_records_partition_the_population_with_their_fitness(xor_run):
    for line in xor_run.metrics:
        species = line["species"]
        assert len(species) == line["n_species"]
        assert sum(size for _, size, _, _ in species) == 60
        assert max(best for _, _, best, _ in species) == line["best_fitness"]
        assert all(mean <= best for _, _, best, mean in species)
        assert len({key for key, *_ in species}) == len(species)
    _, sizes = species_sizes(xor_run.metrics)
    assert sizes.shape[1] == 8 and (sizes.sum(axis=0) == 60).all()


def test_every_generation_has_its_champion_and_a_resumed_run_repeats_none(xor_run, tmp_path):
    champions = _lines(xor_run.run_dir / "champions.jsonl")
    assert [c["generation"] for c in champions] == list(range(8))
    assert [c["fitness"] for c in champions] == [m["best_fitness"] for m in xor_run.metrics]
    assert [c["id"] for c in champions] == [m["best_id"] for m in xor_run.metrics]
    genome = evolve.genome_from_dict(champions[-1]["genome"])
    assert genome.summary()["connections"] >= 1
    part = tmp_path / "part"
    evolve.run(XOR, seed=3, workers=0, generations=5, overrides=SETTINGS, out=part)
    (part / "champions.jsonl").write_text((part / "champions.jsonl").read_text() + '{"generation": 5, "tor')
    evolve.resume(part, generations=8)
    assert _lines(part / "champions.jsonl") == champions


def test_the_last_line_summary_and_best_json_agree(tmp_path):
    result = evolve_cli("run", "configs/xor.toml", "--seed", "0", "--out", str(tmp_path / "run"))
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    best = json.loads((tmp_path / "run" / "best.json").read_text())
    assert summary["solved"] and best["generation"] == summary["solved_generation"]
    assert f"solved at generation {summary['solved_generation']} ({summary['generations']} generations" in (
        result.stdout)
    genome = evolve.genome_from_dict(best["genome"])
    assert summary["best_hidden_nodes"] == genome.summary()["hidden"]
    assert summary["best_enabled_connections"] == genome.summary()["enabled_connections"]


@pytest.mark.parametrize("log_format", ["auto", "json"])
def test_progress_is_one_line_per_generation_when_not_a_terminal(tmp_path, log_format):
    result = evolve_cli("run", "configs/xor.toml", "--seed", "1", "--generations", "4", "--set",
                        "run.stop_on_solve=false", "--out", str(tmp_path / "run"), "--log-format", log_format)
    assert result.returncode == 0, result.stderr
    lines = result.stderr.strip().splitlines()
    assert "\r" not in result.stderr and len(lines) == 4, result.stderr
    metrics = _lines(tmp_path / "run" / "metrics.jsonl")
    if log_format == "json":
        records = [json.loads(line) for line in lines]
        assert [r["generation"] for r in records] == [0, 1, 2, 3]
        assert [r["best"] for r in records] == [m["best_fitness"] for m in metrics]
        assert [r["best_so_far"] for r in records] == list(np.maximum.accumulate([m["best_fitness"] for m in metrics]))
    else:
        assert lines[0].startswith("generation 0 (1/4): best ") and lines[3].startswith("generation 3 (4/4)")
        assert f"mean {metrics[2]['mean_fitness']:.4g}" in lines[2]


def test_verbose_after_the_command_is_accepted(tmp_path):
    result = evolve_cli("run", "configs/xor.toml", "-v", "--generations", "1", "--out", str(tmp_path / "run"))
    assert result.returncode == 0, result.stderr


def test_plot_draws_one_run_or_overlays_several(xor_run, tmp_path):
    other = tmp_path / "other"
    evolve.run(XOR, seed=4, workers=0, generations=5, overrides=SETTINGS, out=other)
    result = evolve_cli("plot", str(xor_run.run_dir), "-o", str(tmp_path / "one.png"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "one.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    result = evolve_cli("plot", str(xor_run.run_dir), str(other), "-o", str(tmp_path / "two.svg"))
    assert result.returncode == 0, result.stderr
    svg = (tmp_path / "two.svg").read_text()
    assert "other best so far" in svg and "run best so far" in svg
    assert "fitness (xor)" not in svg  # one task: one fitness panel
    cartpole = tmp_path / "cartpole"
    evolve.run(REPO / "configs" / "cartpole.toml", seed=0, workers=0, generations=2, overrides=SETTINGS, out=cartpole)
    result = evolve_cli("plot", str(xor_run.run_dir), str(cartpole), "-o", str(tmp_path / "tasks.svg"))
    assert result.returncode == 0, result.stderr
    svg = (tmp_path / "tasks.svg").read_text()
    assert "fitness (xor)" in svg and "fitness (CartPole-v1)" in svg  # a fitness panel per task, each its own scale
    for args, fragment in ((["plot", str(tmp_path), "-o", str(tmp_path / "x.png")], "is not a run directory"),
                           (["plot", str(other), "-o", str(tmp_path / "x.bmp")], "the plot must be")):
        result = evolve_cli(*args)
        assert result.returncode == 2 and fragment in result.stderr and len(result.stderr.splitlines()) == 1


@dataclass(frozen=True)
class ReportingXor(XorTask):
    """XOR with a final report, like the cell search's retraining."""

    def final_report(self, genome, seed, out_dir):
        return {"report": 1.0}


def test_long_generations_report_chunk_progress_and_the_final_report_is_announced(capsys):
    lines = ProgressLines(3, every=0.0)
    evolve.run(XOR, task=ReportingXor(), seed=1, workers=0, generations=3,
               overrides={**SETTINGS, "run.chunk_size": 20}, callbacks=[lines])
    err = capsys.readouterr().err.splitlines()
    assert [line for line in err if line.startswith("generation 0:")] == [
        "generation 0: 20/60 genomes evaluated", "generation 0: 40/60 genomes evaluated"]
    assert err[-1] == "final report on the best genome (a cell search retrains it and its baselines)"
    assert sum(line.startswith("generation ") and "(" in line for line in err) == 3  # one per generation


def test_tune_prints_a_line_per_finished_trial(tmp_path):
    result = evolve_cli("tune", "configs/tune-xor-neat.toml", "--trials", "2", "--out", str(tmp_path / "study"),
                        "--storage", f"sqlite:///{tmp_path / 'study.db'}")
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("trial ")]
    assert len(lines) == 2 and lines[0].startswith("trial 0 (1/2 of this call): value ")
