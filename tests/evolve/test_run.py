"""End-to-end runs: XOR solves, and an interrupted run resumed from its checkpoint matches an uninterrupted one."""

from __future__ import annotations

import json

from evolve.champion_test import ChampionTest, genome_digest
from evolve.checkpoint import latest_checkpoint, load_checkpoint
from evolve.config import load_config
from evolve.executor import SerialExecutor
from evolve.run_progress import RunProgress
from evolve.strategies import build_strategy
from tests.run_helpers import resume_run, run_config, start_run
from tests.run_helpers import run_metrics as _metrics


def _config(generations: int, seed: int = 3, *extra: str):
    return run_config("xor", f"run.generations={generations}", f"run.seed={seed}", *extra)


def test_xor_run_solves_and_writes_the_run_directory(tmp_path):
    summary = start_run(_config(150, seed=1), tmp_path, SerialExecutor())
    assert summary["solved"], summary
    for name in ("config.toml", "metrics.jsonl", "best.json", "summary.json"):
        assert (tmp_path / name).is_file(), name
    metrics = _metrics(tmp_path)
    assert len(metrics) == summary["generations"]
    for key in ("generation", "evaluations", "best_fitness", "mean_fitness", "n_species"):
        assert key in metrics[-1]
    assert metrics[-1]["evaluations"] == summary["evaluations"] == 150 * summary["generations"]
    saved = json.loads((tmp_path / "summary.json").read_text())
    assert saved["executor"] == "serial" and saved["workers"] == 0 and saved["seed"] == 1
    best = json.loads((tmp_path / "best.json").read_text())
    assert best["metrics"]["max_error"] < 0.5
    # The resolved config reloads to the same config.
    assert load_config(tmp_path / "config.toml").to_toml() == (tmp_path / "config.toml").read_text()


def test_resume_reproduces_the_uninterrupted_run_exactly(tmp_path):
    full, part = tmp_path / "full", tmp_path / "part"
    overrides = ("run.stop_on_solve=false", "neat.node_add_prob=0.2", "species.target_species=5")
    start_run(_config(12, 5, *overrides), full, SerialExecutor())
    start_run(_config(5, 5, *overrides), part, SerialExecutor())
    # Simulate a crash after generation 7's metrics line was written but before its checkpoint landed.
    resume_run(_config(8, 5, *overrides), part, SerialExecutor())
    (part / "checkpoints" / "gen-000008.json").unlink()
    resume_run(_config(12, 5, *overrides), part, SerialExecutor())
    assert _metrics(part) == _metrics(full)
    state_full = load_checkpoint(latest_checkpoint(full))["state"]
    state_part = load_checkpoint(latest_checkpoint(part))["state"]
    assert state_full == state_part
    assert json.loads((full / "best.json").read_text()) == json.loads((part / "best.json").read_text())


def test_verify_takes_the_fittest_candidate_it_has_not_judged():
    """An elite copied unchanged fails verify once; the next generations test the other candidates, and only when
    every candidate was judged is the fittest tested again."""
    config = run_config("dpnv", "population.size=20", "env.verify_steps=50", "env.generalization_threshold=625")
    strategy = build_strategy(config)
    population, _ = strategy.ask(strategy.init(0))
    genomes = population.genomes[:3]
    genomes[1] = genomes[0]  # the elite's copy: the same genome
    population = type(population)(genomes, [0, 1, 2], [[], [], []], [0, 0, 0])
    results = [{"solved": True, "fitness": f, "metrics": {}} for f in (3.0, 3.0, 2.0)]
    progress = RunProgress()
    test = ChampionTest(config.env.source(), strategy.family)

    def check(generation: int) -> None:
        assert test.check(progress, 0, generation, population, genomes, results) is None
        assert progress.verify_metrics["generation"] == generation

    check(0)
    assert progress.verified == [genome_digest(genomes[0])]
    check(1)
    assert progress.verified == [genome_digest(genomes[0]), genome_digest(genomes[2])]
    check(2)  # both judged: the fittest again, nothing new recorded
    assert len(progress.verified) == 2
    assert genome_digest(genomes[0]) != genome_digest(genomes[2])
