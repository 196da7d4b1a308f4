"""The Python API: `evolve.run` and `evolve.resume`, the one way in for scripts, notebooks and the command line.

    import evolve
    result = evolve.run("configs/xor.toml", seed=3, workers=0)
    result.solved, result.generations, result.best_genome

`out=None` runs in memory and writes nothing; with `out`, the run directory is written exactly as `evolve run`
writes it, and `evolve.resume(out)` (or `evolve resume`) continues it.
"""

from __future__ import annotations

import copy
import inspect
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evolve.callbacks import Callback, MetricsRecorder, Termination, progress_callback
from evolve.config import (
    ConfigError, RunConfig, apply_override, check_folder_path, parse_config, read_toml, set_key,
)
from evolve.evaluation import task_for
from evolve.executor import Executor, make_executor
from evolve.run_directory import RunDirectory, read_resume_point
from evolve.run_progress import RunProgress
from evolve.runner import Runner
from evolve.strategies import build_strategy
from genomes.families import load_document

ConfigInput = str | Path | Mapping[str, Any] | RunConfig


@dataclass
class RunResult:
    """What a run returns. `metrics` holds the metrics.jsonl records, `summary` the summary.json dict, `best` the
    best.json document; `run_dir` is None for a run in memory."""

    solved: bool
    generations: int
    evaluations: int
    best_fitness: float | None
    best_genome: Any
    metrics: list[dict[str, Any]]
    summary: dict[str, Any]
    best: dict[str, Any] | None
    run_dir: Path | None
    new_generations: int  # generations this call evolved (a resumed run may have none left to do)


def run(
    config: ConfigInput,
    *,
    task: Any = None,
    seed: int | None = None,
    generations: int | None = None,
    workers: int | None = None,
    address: str | None = None,
    out: str | Path | None = None,
    overrides: Mapping[str, Any] | Sequence[str] | None = None,
    callbacks: Sequence[Callback] = (),
    executor: Executor | None = None,
) -> RunResult:
    """Evolve from `config` (a TOML path, a dict in the TOML layout, or a RunConfig).

    `task` replaces the config's [env] task: a Task object (such as `evolve.FunctionTask`) or a Task class (built
    with the [env] settings). `overrides` takes `--set` keys (`{"population.size": 300}` or `["population.size=300"]`);
    `seed`, `generations`, `workers` and `address` set the [run] keys of the same names. `out` is the run directory
    to create (None: in memory, no files). `callbacks` are `evolve.Callback`s called around every generation.
    `executor` replaces the one the config describes (the caller closes it).
    """
    raw, given_task = _raw_config(config)
    resolved = _resolve(raw, task if task is not None else given_task, overrides, seed, generations, workers, address)
    run_dir = None if out is None else _new_run_dir(Path(out))
    strategy = build_strategy(resolved)
    return _execute(resolved, strategy, strategy.init(resolved.run.seed), RunProgress(), run_dir, callbacks, executor)


# Keys `resume` may change: where and how the run is carried out, and when it stops; none of them changes a
# trajectory (evaluation seeds never depend on the executor), so a resumed run stays exactly the uninterrupted one.
RESUMABLE_KEYS = frozenset({"run.generations", "run.stop_on_solve", "run.workers", "run.executor", "run.address",
                            "run.keep_checkpoints", "run.checkpoint_seconds", "run.progress", "run.log_format",
                            "log.tensorboard", "log.mlflow", "log.mlflow_tracking_uri", "log.mlflow_experiment",
                            "env.rom"})


def resume(
    run_dir: str | Path,
    *,
    task: Any = None,
    generations: int | None = None,
    workers: int | None = None,
    address: str | None = None,
    overrides: Mapping[str, Any] | Sequence[str] | None = None,
    callbacks: Sequence[Callback] = (),
    executor: Executor | None = None,
) -> RunResult:
    """Continue the run in `run_dir` from its newest checkpoint (to `generations` in total, if given); the result is
    exactly the uninterrupted run's. A run of a Task object needs that `task` again. `overrides` may change only
    how the run is carried out (`RESUMABLE_KEYS` and `ray.*`), never what it evolves."""
    run_dir = Path(run_dir)
    config_path = run_dir / "config.toml"
    if not config_path.is_file():
        raise ConfigError(f"{run_dir} is not a run directory (no config.toml)")
    for key in _override_keys(overrides):
        if key not in RESUMABLE_KEYS and not key.startswith("ray."):
            raise ConfigError(f"resume cannot change {key}: it would change the evolution itself (resume may set "
                              f"{', '.join(sorted(RESUMABLE_KEYS))} and ray.*); start a new run with `evolve run`")
    resolved = _resolve(read_toml(config_path), task, overrides, None, generations, workers, address)
    strategy = build_strategy(resolved)
    point = read_resume_point(strategy, run_dir)  # a damaged checkpoint fails before any worker starts
    state, progress = point or (strategy.init(resolved.run.seed), RunProgress())
    return _execute(resolved, strategy, state, progress, run_dir, callbacks, executor)


def load_genome(path: str | Path) -> Any:
    """The genome in a genome JSON file, a best.json, or a run directory (its best genome)."""
    from genomes.export import load_genome as load

    path = Path(path)
    return load(path / "best.json" if path.is_dir() else path)


def genome_from_dict(document: Mapping[str, Any]) -> Any:
    """A genome from its JSON document (`genome.to_dict()`), of whichever kind its schema names."""
    return load_document(dict(document))


def _execute(config: RunConfig, strategy: Any, state: Any, progress: RunProgress, run_dir: Path | None,
             callbacks: Sequence[Callback], executor: Executor | None) -> RunResult:
    task_for(config.env.source()).prepare()  # a missing ROM or dataset fails here, before any worker starts
    recorder = MetricsRecorder()
    directory = None
    if run_dir is not None:
        directory = RunDirectory(run_dir, strategy, config.to_toml(), config.run.keep_checkpoints,
                                 config.run.checkpoint_seconds)
    extra = [progress_callback(config.run.log_format, config.run.generations)] if config.run.progress else []
    if config.log.tensorboard:
        if run_dir is None:
            raise ConfigError("log.tensorboard writes under the run directory: give the run an `out` folder")
        from evolve.tensorboard_log import TensorBoardLog

        extra.append(TensorBoardLog(run_dir / "tensorboard"))
    if config.log.mlflow:
        from evolve.mlflow_log import MlflowLog

        name = run_dir.name if run_dir is not None else f"{config.env.id}-s{config.run.seed}"
        extra.append(MlflowLog(config.log.mlflow_tracking_uri, config.log.mlflow_experiment,
                               tomllib.loads(config.to_toml()), run_dir, name))
    everything = [c for c in (directory, recorder, *extra, *callbacks) if c is not None]
    start = state.generation
    owned = executor is None
    executor = make_executor(config) if executor is None else executor
    try:
        runner = Runner(strategy, config.env.source(), executor,
                        Termination(config.run.generations, config.run.stop_on_solve), everything,
                        chunk_size=config.chunk_size(), env_id=config.env.id, out_dir=run_dir)
        end = runner.run(state, progress)
    finally:
        if owned:
            executor.close()
    best = end.state.best
    document = recorder.best if directory is None else directory.best()  # best.json: the verified solution, if any
    if best is None:
        best_genome = None
    else:  # the genome best.json holds, else the fittest so far
        best_genome = load_document(document["genome"]) if document is not None else best["genome"]
    return RunResult(
        solved=end.progress.solved,
        generations=end.state.generation,
        evaluations=end.progress.evaluations,
        best_fitness=None if best is None else best["fitness"],
        best_genome=best_genome,
        metrics=recorder.metrics if directory is None else directory.metrics(),
        summary=end.summary,
        best=document,
        run_dir=run_dir,
        new_generations=end.state.generation - start,
    )


def _raw_config(config: ConfigInput) -> tuple[dict[str, Any], Any]:
    """The config as TOML tables, and the Task object a RunConfig carries."""
    if isinstance(config, RunConfig):
        return tomllib.loads(config.to_toml()), config.env.task
    if isinstance(config, Mapping):
        return copy.deepcopy(dict(config)), None
    if isinstance(config, (str, Path)):
        return read_toml(Path(config)), None
    raise ConfigError(f"config must be a TOML path, a dict or a RunConfig, got {type(config).__name__}")


def _resolve(raw: dict[str, Any], task: Any, overrides: Mapping[str, Any] | Sequence[str] | None,
             seed: int | None, generations: int | None, workers: int | None, address: str | None) -> RunConfig:
    if isinstance(overrides, Mapping):
        for key, value in overrides.items():
            _set(raw, key, value)
    else:
        for item in overrides or ():
            apply_override(raw, item)
    for key, value in (("seed", seed), ("generations", generations), ("workers", workers), ("address", address)):
        if value is not None:
            _set(raw, f"run.{key}", value)
    if inspect.isclass(task):
        env = {k: v for k, v in raw.get("env", {}).items() if k != "id"}
        if task.__module__ != "__main__":  # importable: every process resolves it by name
            raw["env"] = {"id": f"{task.__module__}:{task.__qualname__}", **env}
            task = None
        else:
            task = task(**env)
    if task is not None and "env" in raw:
        raw = {k: v for k, v in raw.items() if k != "env"}
    return parse_config(raw, task)


def _override_keys(overrides: Mapping[str, Any] | Sequence[str] | None) -> list[str]:
    if isinstance(overrides, Mapping):
        return [str(key).strip() for key in overrides]
    return [str(item).partition("=")[0].strip() for item in overrides or ()]


def _set(raw: dict[str, Any], key: str, value: Any) -> None:
    section, dot, name = key.partition(".")
    if not dot or not section or not name:
        raise ConfigError(f"overrides expect section.key, got {key!r}")
    set_key(raw, section, name, value)


def _new_run_dir(run_dir: Path) -> Path:
    """`out` for a new run: a directory that does not exist yet, or an empty one; nothing else is overwritten."""
    if (run_dir / "checkpoints").exists():
        raise ConfigError(f"{run_dir} already holds a run; continue it with `evolve resume {run_dir}`")
    if run_dir.is_dir() and any(run_dir.iterdir()):
        raise ConfigError(f"{run_dir or '.'} is a folder that is not empty; name a new run directory")
    check_folder_path(run_dir, "a run directory")
    return run_dir
