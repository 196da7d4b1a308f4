"""The island model: K NEAT populations evolving independently, exchanging their best genomes every M generations.

Each island is a whole population with its own seed, innovation tracker and evaluation; on Ray every island is an
actor (one core each), serially (`run.workers = 0`) they take turns in this process, with identical results. After
every epoch of `migration_interval` generations, each island sends copies of its `migrants` best genomes of the
last generation to its destination (ring: the next island; random: a seeded draw among the others). Migrants are
re-marked in the destination's innovation numbers (`genomes.innovation.translate`) and replace the last offspring
of its next generation. The run directory is the usual one: metrics.jsonl has one line per generation with the
combined figures and an `islands` list of per-island metrics, best.json the best genome of all islands, and a
checkpoint after every epoch holds every island, so `evolve resume` continues exactly.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from evolve.checkpoint import CheckpointError, latest_checkpoint, load_checkpoint, restore_state, save_checkpoint
from evolve.config import RunConfig, parse_config_text
from evolve.executor import SerialExecutor
from evolve.neat_strategy import NeatState, NeatStrategy
from evolve.reporting import MetricsLog, Progress
from evolve.run import (
    RunProgress,
    best_record,
    build_strategy,
    prepare_task,
    reduce_run_metrics,
    restore_progress,
    run_generation,
    run_metrics,
)
from evolve.strategy import generation_rng
from genomes.atomic_io import write_json_atomic
from genomes.innovation import InnovationTracker, translate
from genomes.neat_genome import NeatGenome

log = logging.getLogger(__name__)
STREAM_MIGRATE = 4


def island_seed(run_seed: int, index: int) -> int:
    return int(np.random.SeedSequence([run_seed, 7907, index]).generate_state(1)[0] >> 1)


def restore_island(
    strategy: NeatStrategy, checkpoint: dict[str, Any], where: str
) -> tuple[NeatState, RunProgress, list[NeatGenome]]:
    """An island's state, run progress and waiting immigrants from its part of a checkpoint; a damaged part raises
    CheckpointError."""
    state = restore_state(strategy, checkpoint, where)
    progress = restore_progress(checkpoint, where)
    try:
        immigrants = [NeatGenome.from_dict(g) for g in checkpoint["immigrants"]]
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{where}: cannot resume from this checkpoint: bad immigrants ({exc})") from None
    return state, progress, immigrants


class Island:
    """One population and its run progress; plain Python, wrapped as a Ray actor when islands run on Ray."""

    def __init__(self, config_toml: str, index: int, checkpoint: dict[str, Any] | None = None) -> None:
        self.config = parse_config_text(config_toml)
        self.index = index
        self.strategy = build_strategy(self.config)
        self.executor = SerialExecutor()
        if checkpoint is None:
            self.state = self.strategy.init(island_seed(self.config.run.seed, index))
            self.progress = RunProgress()
            self.immigrants: list[NeatGenome] = []
        else:
            self.state, self.progress, self.immigrants = restore_island(self.strategy, checkpoint, f"island {index}")

    def evolve(self, until: int) -> list[dict[str, Any]]:
        """Run generations up to `until` (or until solved); one record per generation: metrics, and the best.json
        document when this generation changed it."""
        records = []
        while self.state.generation < until and not (self.progress.solved and self.config.run.stop_on_solve):
            self.state, metrics, outcome = run_generation(
                self.config, self.strategy, self.state, self.executor, self.progress, self.immigrants
            )
            self.immigrants = []
            document = best_record(self.config, self.state, self.progress, outcome)
            records.append({"metrics": metrics, "best": document, "solved": outcome.solver is not None})
        return records

    def emigrants(self, count: int) -> dict[str, Any]:
        """Copies of the `count` fittest genomes of the last told generation, with the tracker that marked them."""
        fitness = self.state.fitness or {}
        ranked = sorted(fitness, key=lambda gid: (-fitness[gid], gid))[:count]
        return {
            "genomes": [self.state.genomes[gid].shared_dict() for gid in ranked],
            "innovations": self.state.innovations.to_dict(),
        }

    def receive(self, parcels: list[dict[str, Any]]) -> int:
        """Re-mark immigrants in this island's innovation numbers; they join the next generation."""
        self.immigrants = []
        for parcel in parcels:
            source = InnovationTracker.from_dict(parcel["innovations"])
            self.immigrants += [translate(NeatGenome.from_dict(g), source, self.state.innovations)
                                for g in parcel["genomes"]]
        del self.immigrants[self.config.population.size:]
        return len(self.immigrants)

    def checkpoint(self) -> dict[str, Any]:
        return {
            "state": self.strategy.state_to_dict(self.state),
            "run": self.progress.to_dict(),
            "immigrants": [g.to_dict() for g in self.immigrants],
        }

    def summary(self) -> dict[str, Any]:
        best = self.state.best
        return {
            "island": self.index,
            "seed": self.state.seed,
            "generations": self.state.generation,
            "evaluations": self.progress.evaluations,
            "best_fitness": best["fitness"] if best else None,
            "solved": self.progress.solved,
            "solved_generation": self.progress.solved_generation,
            **self.progress.records,
        }


def destinations(count: int, topology: str, run_seed: int, generation: int) -> list[int]:
    """Where each island's migrants go: the next island (ring) or a seeded draw among the others (random)."""
    if topology == "ring":
        return [(i + 1) % count for i in range(count)]
    rng = generation_rng(run_seed, generation, STREAM_MIGRATE)
    return [int((i + 1 + rng.integers(count - 1)) % count) for i in range(count)]


class _Pool:
    """Calls on every island, through Ray actors or directly, always returning results in island order."""

    def __init__(self, config: RunConfig, checkpoints: list[dict[str, Any] | None]) -> None:
        self.remote = config.run.workers != 0
        text = config.to_toml()
        if self.remote:
            import ray

            from evolve.ray_executor import ensure_ray

            self._owns_ray = ensure_ray(config.run.address, len(checkpoints), config.ray.num_cpus)
            need, have = len(checkpoints) * config.ray.num_cpus, ray.cluster_resources().get("CPU", 0.0)
            if need > have:
                from evolve.config import ConfigError

                if self._owns_ray:
                    ray.shutdown()
                raise ConfigError(f"{len(checkpoints)} islands need {need:g} CPUs (ray.num_cpus each) but the Ray "
                                  f"cluster has {have:g}; lower islands.count or ray.num_cpus")
            actor = ray.remote(Island).options(num_cpus=config.ray.num_cpus, num_gpus=config.ray.num_gpus)
            self.islands = [actor.remote(text, i, c) for i, c in enumerate(checkpoints)]
        else:
            self.islands = [Island(text, i, c) for i, c in enumerate(checkpoints)]

    def call(self, method: str, *per_island_args: list[Any]) -> list[Any]:
        args = list(zip(*per_island_args)) if per_island_args else [()] * len(self.islands)
        if not self.remote:
            return [getattr(island, method)(*a) for island, a in zip(self.islands, args)]
        import ray

        return ray.get([getattr(island, method).remote(*a) for island, a in zip(self.islands, args)])

    def close(self) -> None:
        if self.remote:
            import ray

            for island in self.islands:
                ray.kill(island)
            if self._owns_ray:
                ray.shutdown()


def run_islands(config: RunConfig, run_dir: Path, resume: bool = False) -> dict[str, Any]:
    """Start (or resume) an island run in `run_dir`."""
    prepare_task(config)
    count = config.islands.count
    path = latest_checkpoint(run_dir) if resume else None
    if path is None:
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "config.toml").write_text(config.to_toml())
        (run_dir / "metrics.jsonl").write_text("")
        generation, migrated, checkpoints = 0, 0, [None] * count
    else:
        data = load_checkpoint(path).get("state")
        if not (isinstance(data, dict) and data.get("strategy") == "islands"
                and isinstance(data.get("islands"), list) and len(data["islands"]) == count):
            raise CheckpointError(f"{path}: not a checkpoint of {count} islands")
        try:
            generation, migrated, checkpoints = int(data["generation"]), int(data["migrated"]), data["islands"]
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(f"{path}: cannot resume from this checkpoint: {exc}") from None
        strategy = build_strategy(config)
        for i, island in enumerate(checkpoints):  # here, before any Ray actor starts
            restore_island(strategy, island, f"{path}, island {i}")
        MetricsLog(run_dir / "metrics.jsonl").truncate(generation)
    pool = _Pool(config, checkpoints)
    try:
        summary = _epochs(config, run_dir, pool, generation, migrated)
    finally:
        pool.close()
    write_json_atomic(run_dir / "summary.json", summary)
    return summary


def _epochs(config: RunConfig, run_dir: Path, pool: _Pool, generation: int, migrated: int) -> dict[str, Any]:
    """Epochs end at multiples of the migration interval (or the last generation); migration opens every epoch
    but the first, so a run resumed from any checkpoint, with any generation count, migrates as the uninterrupted
    one does."""
    islands, metrics_log = config.islands, MetricsLog(run_dir / "metrics.jsonl")
    total = config.run.generations
    bar = Progress(total, generation, config.run.progress)
    best_fitness, solved = _best_so_far(run_dir)
    try:
        while generation < total and not (solved and config.run.stop_on_solve):
            if generation % islands.migration_interval == 0 and generation > migrated and islands.count > 1:
                _migrate(config, pool, generation)
                migrated = generation
            until = min((generation // islands.migration_interval + 1) * islands.migration_interval, total)
            records = pool.call("evolve", [until] * islands.count)
            for step in range(max(len(r) for r in records)):
                line = _combined([r[step] if step < len(r) else None for r in records], run_metrics(config))
                for record in (r[step] for r in records if step < len(r)):
                    # best.json: the first verified solution, until then the fittest genome of any island.
                    document = record["best"]
                    if document is not None and not solved and (record["solved"] or document["fitness"] > best_fitness):
                        best_fitness, solved = document["fitness"], record["solved"]
                        write_json_atomic(run_dir / "best.json", document)
                line["solved"] = solved
                metrics_log.append(line)
                bar.update(line)
            generation = until
            state = {"strategy": "islands", "generation": generation, "migrated": migrated,
                     "islands": pool.call("checkpoint")}
            save_checkpoint(run_dir, generation, state, {}, config.run.keep_checkpoints)
    finally:
        bar.close()
    summaries = pool.call("summary")
    return _summary(config, summaries, pool.remote, run_dir)


def _migrate(config: RunConfig, pool: _Pool, generation: int) -> None:
    islands = config.islands
    parcels = pool.call("emigrants", [islands.migrants] * islands.count)
    to = destinations(islands.count, islands.topology, config.run.seed, generation)
    arriving: list[list[dict[str, Any]]] = [[] for _ in range(islands.count)]
    for source, target in enumerate(to):
        arriving[target].append(parcels[source])
    received = pool.call("receive", arriving)
    log.info("generation %d: migrants from islands %s go to %s (%s genomes)", generation,
             list(range(islands.count)), to, received)


def _best_so_far(run_dir: Path) -> tuple[float, bool]:
    import json

    path = run_dir / "best.json"
    if not path.exists():
        return -np.inf, False
    best = json.loads(path.read_text())
    return float(best["fitness"]), bool(best["solved"])


def _combined(records: list[dict[str, Any] | None], reductions: dict[str, str]) -> dict[str, Any]:
    """One metrics line from the islands' lines of one generation (islands that stopped contribute nothing); the
    task's run metrics are reduced over the islands (the best max_x of any island, the frames of all)."""
    lines = [r["metrics"] for r in records if r is not None]
    best = max(lines, key=lambda m: m["best_fitness"])
    return {
        "generation": best["generation"],
        "evaluations": sum(m["evaluations"] for m in lines),
        "best_fitness": best["best_fitness"],
        "mean_fitness": float(np.mean([m["mean_fitness"] for m in lines])),
        "n_species": sum(m["n_species"] for m in lines),
        "best_island": next(i for i, r in enumerate(records) if r is not None and r["metrics"] is best),
        "wall_seconds": max(m["wall_seconds"] for m in lines),
        **reduce_run_metrics(reductions, {key: [m[key] for m in lines] for key in reductions}),
        "islands": [None if r is None else r["metrics"] for r in records],
    }


def _summary(config: RunConfig, islands: list[dict[str, Any]], remote: bool, run_dir: Path) -> dict[str, Any]:
    best_fitness, solved = _best_so_far(run_dir)
    lines = MetricsLog(run_dir / "metrics.jsonl").read()
    first_solved = next((m for m in lines if m["solved"]), None)
    return {
        "solved": solved,
        "generations": max(s["generations"] for s in islands),
        "evaluations": sum(s["evaluations"] for s in islands),
        "best_fitness": best_fitness if np.isfinite(best_fitness) else None,
        "seed": config.run.seed,
        "env": config.env.id,
        "population_size": config.population.size,
        "executor": "ray" if remote else "serial",
        "workers": config.islands.count if remote else 0,
        "islands": islands,
        "wall_seconds": max((m["wall_seconds"] for m in lines), default=0.0),
        "solved_generation": first_solved["generation"] if first_solved else None,
        "evaluations_to_solve": first_solved["evaluations"] if first_solved else None,
        **reduce_run_metrics(run_metrics(config), {key: [s[key] for s in islands] for key in run_metrics(config)}),
    }
