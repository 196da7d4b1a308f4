"""The one run loop: ask -> evaluate through an executor -> tell -> champion test -> callbacks, until termination.

Everything around the loop is a callback (the run directory, the progress bar, user hooks) or the termination
object; the same loop runs a single population, islands (a strategy wrapper) and in-memory runs. Evaluation seeds
come from the strategy's population, never from the executor, so serial and Ray runs are identical.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from envs.progress import progress_scope, progress_to
from envs.task import Task
from evolve.callbacks import Callback, GenerationRecord, Termination
from evolve.champion_test import ChampionTest
from evolve.evaluation import TaskSource, evaluate_population, task_for
from evolve.executor import Executor
from evolve.run_progress import RunProgress
from evolve.strategy import Evaluations, Strategy, StrategyState


@dataclass
class RunEnd:
    """What `Runner.run` returns: the final state and progress, and the summary (summary.json's content)."""

    state: StrategyState
    progress: RunProgress
    summary: dict[str, Any]
    final: dict[str, Any]


class Runner:
    """Runs `strategy` on `task` through `executor` until `termination`, calling `callbacks` around the loop.
    `chunk_size` genomes make one evaluation chunk; `out_dir` is where a task's final report may write files."""

    def __init__(
        self,
        strategy: Strategy[Any],
        task: TaskSource,
        executor: Executor,
        termination: Termination,
        callbacks: Sequence[Callback] = (),
        *,
        chunk_size: int,
        env_id: str,
        out_dir: Path | None = None,
    ) -> None:
        self.strategy, self.source, self.executor = strategy, task, executor
        self.termination, self.callbacks = termination, list(callbacks)
        self.chunk_size, self.env_id, self.out_dir = chunk_size, env_id, out_dir
        self.task = task_for(task)  # this process's instance, for the task's hooks
        self.champion_test = ChampionTest(task, strategy.family)

    def run(self, state: StrategyState, progress: RunProgress | None = None) -> RunEnd:
        progress = progress or RunProgress()
        try:
            for callback in self.callbacks:
                callback.on_start(state, progress)
            stop = False
            while not stop and not self.termination.done(state, progress):
                state, record = self.step(state, progress)
                stop = any([bool(callback.on_generation(record)) for callback in self.callbacks])
            final = self.final_report(state)
            summary = {**self.summary(state, progress), **final}
            for callback in self.callbacks:
                callback.on_end(summary, final)
        finally:
            for callback in self.callbacks:
                callback.close()
        return RunEnd(state, progress, summary, final)

    def step(self, state: StrategyState, progress: RunProgress) -> tuple[StrategyState, GenerationRecord]:
        """One generation: ask, evaluate, tell, test the champion."""
        started = time.perf_counter()
        population, state = self.strategy.ask(state)
        generation = state.generation
        genomes = population.genomes
        documents = genomes if self.executor.in_process else [g.shared_dict() for g in genomes]
        total = len(documents)

        def evaluated(count: int) -> None:
            for callback in self.callbacks:
                callback.on_evaluated(generation, count, total)

        with progress_to(self._heard), progress_scope(f"generation {generation}"):
            results = evaluate_population(self.executor, self.source, documents, population.seeds, self.chunk_size,
                                          evaluated)
        evaluations = Evaluations.from_results(results)
        state, metrics = self.strategy.tell(state, population, evaluations)
        progress.evaluations += len(population)
        fitness = evaluations.fitness
        metrics.update(results[int(np.argmax(fitness))]["metrics"])
        reductions = self.task.run_metrics
        generation_figures = reduce_run_metrics(reductions, {k: [r["metrics"][k] for r in results] for k in reductions})
        metrics.update(generation_figures)
        progress.records = reduce_run_metrics(reductions, {k: [v, *([progress.records[k]] if k in progress.records else [])]
                                                for k, v in generation_figures.items()})
        was_solved = progress.solved
        solver = self.champion_test.check(progress, state.seed, generation, population, documents, results)
        progress.wall_seconds += time.perf_counter() - started
        metrics.update(evaluations=progress.evaluations, wall_seconds=progress.wall_seconds, solved=progress.solved)
        best = state.best
        document = None
        if solver is not None:
            progress.champion_metrics = results[solver]["metrics"]
            document = self._best_document(population, solver, generation, float(fitness[solver]), state, progress)
        elif not was_solved and best is not None and best["generation"] == generation:
            index = population.ids.index(best["id"])
            progress.champion_metrics = results[index]["metrics"]
            document = self._best_document(population, index, generation, best["fitness"], state, progress)
        return state, GenerationRecord(generation, metrics, state, population, results, document, progress)

    def _heard(self, message: str, milestone: bool) -> None:
        """Progress the task reported from inside evaluation or its final report (envs.progress), to the callbacks."""
        for callback in self.callbacks:
            if milestone:
                callback.on_phase(message)
            else:
                callback.on_progress(message)

    def final_report(self, state: StrategyState) -> dict[str, Any]:
        """What the task reports on the run's best genome once evolution is over (a supervised search retrains it
        and scores the test split beside its baselines). Deterministic, so a resumed run that reaches the end again
        reports the same."""
        if state.best is None:
            return {}
        started = time.perf_counter()
        if type(self.task).final_report is not Task.final_report:
            for callback in self.callbacks:
                callback.on_phase("final report on the best genome (a cell search retrains it and its baselines)")
        with progress_to(self._heard):
            report = self.task.final_report(state.best["genome"], state.seed, self.out_dir)
        if report:
            report["final_wall_seconds"] = time.perf_counter() - started
        return report

    def summary(self, state: StrategyState, progress: RunProgress) -> dict[str, Any]:
        best = state.best
        figures = self.strategy.family.describe(best["genome"]) if best else {}
        return {
            "solved": progress.solved,
            "generations": state.generation,
            "evaluations": progress.evaluations,
            "best_fitness": best["fitness"] if best else None,
            "wall_seconds": progress.wall_seconds,
            "seed": state.seed,
            "env": self.env_id,
            "population_size": self.strategy.population_size,
            "strategy": self.strategy.name,
            "executor": self.executor.name,
            **({"executor_chunks": detail} if (detail := getattr(self.executor, "detail", None)) else {}),
            "workers": self.executor.workers,
            "worker_failures": len(self.executor.failures),
            "solved_generation": progress.solved_generation,
            "evaluations_to_solve": progress.evaluations_to_solve,
            "verify": progress.verify_metrics,
            "solution": progress.solution,
            # the size of best.json's genome: the verified solution once solved, else the fittest genome
            "best_hidden_nodes": progress.solution.get("hidden_nodes", figures.get("hidden")),
            "best_enabled_connections": progress.solution.get("enabled_connections", figures.get("connections")),
            "best_metrics": progress.champion_metrics,
            **progress.records,
            **self.strategy.summary(state),
        }

    def _best_document(self, population: Any, index: int, generation: int, fitness: float, state: StrategyState,
                       progress: RunProgress) -> dict[str, Any]:
        """best.json: the genome with its fitness and provenance."""
        return {
            "schema": "evolve-best",
            "version": 1,
            "solved": progress.solved,
            "fitness": float(fitness),
            "generation": generation,
            "genome_id": population.ids[index],
            "parents": population.parents[index],
            "env": self.env_id,
            "seed": state.seed,
            "metrics": progress.champion_metrics,
            "verify": progress.verify_metrics if progress.solved else {},
            "genome": population.genomes[index].to_dict(),
        }


def reduce_run_metrics(reductions: dict[str, str], values: dict[str, list[float]]) -> dict[str, float]:
    """The task's run metrics: "max" (Mario's max_x: the best of the values) or "sum" (frames: their total)."""
    return {key: float(max(values[key]) if how == "max" else sum(values[key])) for key, how in reductions.items()}
