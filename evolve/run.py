"""The run loop: ask -> evaluate through an executor -> tell -> report -> checkpoint, resumable bit for bit.

A run directory holds config.toml (resolved), metrics.jsonl, checkpoints/, best.json and summary.json.
"""

from __future__ import annotations

import gc
import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from envs.registry import make, task_class
from evolve.checkpoint import CheckpointError, latest_checkpoint, load_checkpoint, restore_state, save_checkpoint
from evolve.config import RunConfig
from evolve.evaluation import evaluate_chunk, evaluation_seeds, verify_genome
from evolve.executor import Executor
from evolve.file_writer import FileWriter
from evolve.neat_strategy import NeatState, NeatStrategy
from evolve.reporting import MetricsLog, Progress
from evolve.strategy import generation_rng
from evolve.random_search import RandomSearch
from genomes.atomic_io import json_bytes, write_json_atomic
from genomes.families import make_family

log = logging.getLogger(__name__)
STREAM_VERIFY = 2


@dataclass
class RunProgress:
    """Counters a checkpoint carries besides the strategy state."""

    evaluations: int = 0
    wall_seconds: float = 0.0
    solved: bool = False
    solved_generation: int | None = None
    evaluations_to_solve: int | None = None
    verify_metrics: dict[str, Any] = field(default_factory=dict)
    solution: dict[str, Any] = field(default_factory=dict)  # size of the verified solution network
    champion_metrics: dict[str, Any] = field(default_factory=dict)
    records: dict[str, float] = field(default_factory=dict)  # the run's figure for each of the task's run metrics
    verified: list[str] = field(default_factory=list)  # content digests of the genomes verify has already judged

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def build_strategy(config: RunConfig) -> NeatStrategy:
    family = genome_family(config)
    if config.run.strategy == "random":
        return RandomSearch(family, config.species, config.reproduction, config.population.size,
                            config.run.random_mutations)
    return NeatStrategy(family, config.species, config.reproduction, config.population.size)


def genome_family(config: RunConfig):
    return make_family(config.genome.kind, config.family_config())


def task_spec(config: RunConfig) -> dict[str, Any]:
    return {"id": config.env.id, "kwargs": dict(config.env.kwargs)}


def run_metrics(config: RunConfig) -> dict[str, str]:
    """The task's metrics reported for the whole population rather than the champion, each with its reduction:
    "max" (Mario's max_x: the population's best each generation, the run's best in summary.json) or "sum" (frames:
    the generation's total, the run's total). A task declares them in its `run_metrics` class attribute."""
    return dict(getattr(task_class(config.env.id), "run_metrics", {}))


def reduce_run_metrics(reductions: dict[str, str], values: dict[str, list[float]]) -> dict[str, float]:
    """Apply each metric's reduction to its values."""
    return {key: float(max(values[key]) if how == "max" else sum(values[key])) for key, how in reductions.items()}


def prepare_task(config: RunConfig) -> None:
    """Let the task acquire what it needs (a ROM, a dataset) in this process, before any worker starts."""
    task = make(config.env.id, **config.env.kwargs)
    if hasattr(task, "prepare"):
        task.prepare()


def start_run(config: RunConfig, run_dir: Path, executor: Executor) -> dict[str, Any]:
    prepare_task(config)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.toml").write_text(config.to_toml())
    (run_dir / "metrics.jsonl").write_text("")
    strategy = build_strategy(config)
    state = strategy.init(config.run.seed)
    return _loop(config, run_dir, executor, strategy, state, RunProgress())


@dataclass
class ResumePoint:
    """Where a resumed run continues: its strategy, state and progress, from `checkpoint` (None: from the start)."""

    strategy: NeatStrategy
    state: NeatState
    progress: RunProgress
    checkpoint: Path | None


def resume_point(config: RunConfig, run_dir: Path) -> ResumePoint:
    """Read the run's newest checkpoint (without one, the run starts over from its seed); an unreadable or damaged
    checkpoint raises CheckpointError. Call it before starting workers, so bad input fails fast."""
    strategy = build_strategy(config)
    path = latest_checkpoint(run_dir)
    if path is None:
        return ResumePoint(strategy, strategy.init(config.run.seed), RunProgress(), None)
    data = load_checkpoint(path)
    return ResumePoint(strategy, restore_state(strategy, data, path), restore_progress(data, path), path)


def restore_progress(data: dict[str, Any], where: Path | str) -> RunProgress:
    """The run progress a loaded checkpoint holds; a damaged one raises CheckpointError."""
    try:
        return RunProgress(**data["run"])
    except (KeyError, TypeError) as exc:
        raise CheckpointError(f"{where}: cannot resume from this checkpoint: bad run progress ({exc})") from None


def resume_run(
    config: RunConfig, run_dir: Path, executor: Executor, point: ResumePoint | None = None
) -> dict[str, Any]:
    """Continue the run in `run_dir` from `point` (default: its newest checkpoint) to config.run.generations."""
    prepare_task(config)
    point = point or resume_point(config, run_dir)
    if point.checkpoint is None:
        (run_dir / "metrics.jsonl").write_text("")
    else:
        MetricsLog(run_dir / "metrics.jsonl").truncate(point.state.generation)
    return _loop(config, run_dir, executor, point.strategy, point.state, point.progress)


@dataclass
class GenerationOutcome:
    """What one generation produced, for the files a run writes."""

    generation: int
    genomes: list[Any]
    ids: list[int]
    fitness: np.ndarray
    results: list[dict[str, Any]]
    solver: int | None  # index of the verified solution found in this generation
    was_solved: bool  # whether the run was solved before this generation


def run_generation(
    config: RunConfig,
    strategy: NeatStrategy,
    state: NeatState,
    executor: Executor,
    progress: RunProgress,
    immigrants: list[Any] | None = None,
) -> tuple[NeatState, dict[str, Any], GenerationOutcome]:
    """ask -> (immigrants replace the last offspring) -> evaluate -> tell -> verify a candidate solution.
    Evaluation seeds derive from the strategy state's seed, the generation and the genome id."""
    started = time.perf_counter()
    spec = task_spec(config)
    genomes, state = strategy.ask(state)
    if immigrants:
        state = strategy.immigrate(state, immigrants)
        genomes = list(state.genomes.values())
    ids = strategy.genome_ids(state)
    generation = state.generation
    documents = genomes if executor.in_process else [g.shared_dict() for g in genomes]
    seeds = evaluation_seeds(state.seed, generation, ids)
    results = evaluate_generation(executor, spec, documents, seeds, config.chunk_size())
    fitness = np.array([r["fitness"] for r in results])
    state, metrics = strategy.tell(state, genomes, fitness)
    progress.evaluations += len(genomes)
    metrics.update(results[int(np.argmax(fitness))]["metrics"])
    reductions = run_metrics(config)
    population = reduce_run_metrics(reductions, {k: [r["metrics"][k] for r in results] for k in reductions})
    metrics.update(population)
    progress.records = reduce_run_metrics(
        reductions, {k: [v, *([progress.records[k]] if k in progress.records else [])] for k, v in population.items()}
    )
    was_solved = progress.solved
    solver = check_solved(config, spec, state.seed, progress, generation, genomes, documents, results)
    progress.wall_seconds += time.perf_counter() - started
    metrics.update(evaluations=progress.evaluations, wall_seconds=progress.wall_seconds, solved=progress.solved)
    if solver is not None:
        progress.champion_metrics = results[solver]["metrics"]
    elif not was_solved and state.best is not None and state.best["generation"] == generation:
        progress.champion_metrics = results[ids.index(state.best["id"])]["metrics"]
    return state, metrics, GenerationOutcome(generation, genomes, ids, fitness, results, solver, was_solved)


def best_record(config: RunConfig, state: NeatState, progress: RunProgress, outcome: GenerationOutcome):
    """The best.json document this generation calls for (the verified solution once there is one, until then the
    fittest genome so far), or None when best.json stays as it is."""
    if outcome.solver is not None:
        i = outcome.solver
        return _best_document(config, outcome.genomes[i], outcome.ids[i], outcome.generation,
                              outcome.fitness[i], state, progress)
    best = state.best
    if not outcome.was_solved and best is not None and best["generation"] == outcome.generation:
        return _best_document(config, best["genome"], best["id"], outcome.generation, best["fitness"], state, progress)
    return None


def _loop(
    config: RunConfig,
    run_dir: Path,
    executor: Executor,
    strategy: NeatStrategy,
    state: NeatState,
    progress: RunProgress,
) -> dict[str, Any]:
    metrics_log = MetricsLog(run_dir / "metrics.jsonl")
    total = config.run.generations
    # Everything alive now (modules, torch, the task's environments) lives as long as the run: moved out of the
    # cyclic collector's reach, its full passes scan only what the generations allocate (a tenth of a NEAT run's
    # time was spent rescanning the heap).
    gc.freeze()
    bar = Progress(total, state.generation, config.run.progress)
    try:
        # best.json and the checkpoint are encoded here and written on the writer's thread, their fsyncs
        # overlapping the next generation; all are on disk when the block ends.
        with FileWriter() as writer:
            while state.generation < total and not (progress.solved and config.run.stop_on_solve):
                state, metrics, outcome = run_generation(config, strategy, state, executor, progress)
                if (document := best_record(config, state, progress, outcome)) is not None:
                    writer.write(run_dir / "best.json", json_bytes(document))
                metrics_log.append(metrics)
                save_checkpoint(
                    run_dir, state.generation, strategy.state_to_dict(state), progress.to_dict(),
                    config.run.keep_checkpoints, writer,
                )
                bar.update(metrics)
    finally:
        bar.close()
    summary = _summary(config, state, progress, executor)
    summary.update(final_report(config, run_dir, state))
    write_json_atomic(run_dir / "summary.json", summary)
    return summary


def final_report(config: RunConfig, run_dir: Path, state: NeatState) -> dict[str, Any]:
    """What the task reports on the run's best genome once evolution is over (a supervised search retrains it and
    scores the test split beside its baselines); recorded in summary.json and best.json. Deterministic, so a
    resumed run that reaches the end again reports the same."""
    task = make(config.env.id, **config.env.kwargs)
    if not hasattr(task, "final_report") or state.best is None:
        return {}
    started = time.perf_counter()
    report = task.final_report(state.best["genome"], config.run.seed, run_dir)
    report["final_wall_seconds"] = time.perf_counter() - started
    best_path = run_dir / "best.json"
    if best_path.is_file():
        document = json.loads(best_path.read_text())
        document.update(weights=report.get("weights"), final=report)
        write_json_atomic(best_path, document)
    return report


def evaluate_generation(
    executor: Executor, spec: dict[str, Any], documents: list[Any], seeds: list[int], size: int
) -> list[dict[str, Any]]:
    """Evaluate a generation in chunks of `size` genomes. The chunks are the same whatever the executor, so batched
    evaluation sees the same inputs (and gives bit-identical results) serially and on any number of workers."""
    payloads = [
        {"task": spec, "genomes": documents[i : i + size], "seeds": seeds[i : i + size]}
        for i in range(0, len(documents), size)
    ]
    chunks = executor.map(evaluate_chunk, payloads, [p["seeds"][0] for p in payloads])
    return [result for chunk in chunks for result in chunk]


def check_solved(
    config: RunConfig,
    spec: dict[str, Any],
    seed: int,
    progress: RunProgress,
    generation: int,
    genomes: list[Any],
    documents: list[Any],
    results: list[dict[str, Any]],
) -> int | None:
    """Verify one candidate whose evaluation met the goal; returns its index when it passes (the run is solved),
    else None. The candidate is the fittest one verify has not judged before, as the NEAT reference code tests an
    unchecked species' champion each generation: an elite copied unchanged would otherwise take the test every
    generation and keep failing it, while the other candidates never get theirs. When every candidate was judged,
    the fittest is tested again (a task's verify may draw new episodes)."""
    if progress.solved:
        return None
    candidates = sorted((i for i, r in enumerate(results) if r["solved"]), key=lambda i: (-results[i]["fitness"], i))
    if not candidates:
        return None
    judged = set(progress.verified)
    best, digest = candidates[0], None
    for i in candidates:
        if (content := genome_digest(genomes[i])) not in judged:
            best, digest = i, content
            break
    if digest is not None:
        progress.verified.append(digest)
    rng_seed = int(generation_rng(seed, generation, STREAM_VERIFY).integers(2**31))
    verdict = verify_genome({"genome": documents[best], "task": spec}, rng_seed)
    progress.verify_metrics = {"generation": generation, **verdict.metrics}
    if verdict.solved:
        genome = genomes[best]
        figures = genome_family(config).describe(genome)
        progress.solution = {"hidden_nodes": figures["hidden"], "enabled_connections": figures["connections"]}
        progress.solved, progress.solved_generation = True, generation
        progress.evaluations_to_solve = progress.evaluations
        log.info("solved at generation %d after %d evaluations", generation, progress.evaluations)
        return best
    return None


def genome_digest(genome: Any) -> str:
    """A short content hash of a genome's JSON document: equal genomes (an elite and its copy) share it."""
    return hashlib.blake2b(json_bytes(genome.shared_dict()), digest_size=12).hexdigest()


def _best_document(
    config: RunConfig,
    genome: Any,
    genome_id: int,
    generation: int,
    fitness: float,
    state: NeatState,
    progress: RunProgress,
) -> dict[str, Any]:
    return {
        "schema": "evolve-best",
        "version": 1,
        "solved": progress.solved,
        "fitness": float(fitness),
        "generation": generation,
        "genome_id": genome_id,
        "parents": state.parents.get(genome_id, []),
        "env": config.env.id,
        "seed": config.run.seed,
        "metrics": progress.champion_metrics,
        "verify": progress.verify_metrics if progress.solved else {},
        "genome": genome.to_dict(),
    }


def _summary(config: RunConfig, state: NeatState, progress: RunProgress, executor: Executor) -> dict[str, Any]:
    best = state.best
    figures = genome_family(config).describe(best["genome"]) if best else {}
    return {
        "solved": progress.solved,
        "generations": state.generation,
        "evaluations": progress.evaluations,
        "best_fitness": best["fitness"] if best else None,
        "wall_seconds": progress.wall_seconds,
        "seed": config.run.seed,
        "env": config.env.id,
        "population_size": config.population.size,
        "executor": executor.name,
        "workers": executor.workers,
        "worker_failures": len(executor.failures),
        "solved_generation": progress.solved_generation,
        "evaluations_to_solve": progress.evaluations_to_solve,
        "verify": progress.verify_metrics,
        "solution": progress.solution,
        "best_hidden_nodes": figures.get("hidden"),
        "best_enabled_connections": figures.get("connections"),
        "best_metrics": progress.champion_metrics,
        **progress.records,
    }
