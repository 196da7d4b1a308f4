"""`evolve tune`: an Optuna study whose trials run in parallel on Ray workers through the ask/tell interface.

Optuna owns sampling, pruning and storage (SQLite in the output directory by default, any SQLAlchemy URL such as
PostgreSQL for clusters); Ray owns execution (one trial per worker); the engine owns the objective
(`search/objectives.py`). The driver asks for a trial, a worker scores it (reporting intermediate values to the
storage so the pruner can stop it), and the driver tells the result. A trial whose worker dies is told FAIL and
its parameters are enqueued again; trials a crashed driver left RUNNING are failed and re-enqueued by the next
`evolve tune`, so the study stays consistent and each call adds exactly the trials it was asked for.
"""

from __future__ import annotations

import logging
from collections import deque
from pathlib import Path
from typing import Any

from evolve.config import ConfigError
from search.tune_config import TuneConfig, distributions

log = logging.getLogger(__name__)
DONE = ("COMPLETE", "PRUNED")


class TrialWorkerLostError(RuntimeError):
    """Trials kept losing their workers; the study is left consistent and the call stops."""


def make_sampler(name: str, seed: int, startup_trials: int = 10) -> Any:
    import optuna.samplers as s

    if name == "tpe":
        return s.TPESampler(seed=seed, multivariate=True, n_startup_trials=startup_trials)
    if name == "cmaes":
        return s.CmaEsSampler(seed=seed, n_startup_trials=startup_trials, warn_independent_sampling=False)
    if name == "nsga2":
        return s.NSGAIISampler(seed=seed)
    return s.RandomSampler(seed=seed)


def make_pruner(name: str) -> Any:
    import optuna.pruners as p

    return {"none": p.NopPruner, "median": lambda: p.MedianPruner(n_startup_trials=3, n_warmup_steps=0),
            "halving": p.SuccessiveHalvingPruner, "hyperband": p.HyperbandPruner}[name]()


def open_study(config: TuneConfig, storage: str, name: str) -> Any:
    """Create the study or load it (same name, same directions); a bad URL or a clash is a ConfigError."""
    import optuna
    import sqlalchemy.exc

    directions = config.directions()
    multi = len(directions) > 1
    try:
        study = optuna.create_study(
            storage=storage, study_name=name, load_if_exists=True, directions=directions,
            sampler=make_sampler(config.tune.sampler, config.tune.seed, config.tune.startup_trials),
            pruner=make_pruner("none" if multi else config.tune.pruner),
        )
    except (sqlalchemy.exc.ArgumentError, sqlalchemy.exc.OperationalError, sqlalchemy.exc.NoSuchModuleError,
            ModuleNotFoundError, ValueError) as exc:
        raise ConfigError(f"cannot open study {name!r} at storage {storage!r}: {_first_line(exc)}") from None
    if [d.name.lower() for d in study.directions] != directions:
        raise ConfigError(f"study {name!r} exists with directions {[d.name.lower() for d in study.directions]}, "
                          f"this config optimizes {directions}")
    return study


def recover(study: Any) -> int:
    """Fail the trials a crashed driver left RUNNING and enqueue their parameters again; returns how many."""
    import optuna

    stale = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
    for trial in stale:
        study.tell(trial.number, state=optuna.trial.TrialState.FAIL)
        study.enqueue_trial(trial.params, user_attrs={"retry_of": trial.number})
    return len(stale)


def done_count(study: Any) -> int:
    return sum(t.state.name in DONE for t in study.get_trials(deepcopy=False))


def tune(config: TuneConfig, out_dir: Path, trials: int | None = None, storage: str | None = None,
         study_name: str | None = None) -> dict[str, Any]:
    """Add `trials` (default tune.trials) finished trials to the study; write the reports into out_dir."""
    import optuna

    from search.tune_report import write_reports

    out_dir.mkdir(parents=True, exist_ok=True)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    url = storage or config.tune.storage or f"sqlite:///{(out_dir / 'study.db').resolve()}"
    name = study_name or config.study_name
    study = open_study(config, url, name)
    if recovered := recover(study):
        log.warning("re-enqueued %d trial(s) left running by an interrupted call", recovered)
    target = done_count(study) + (trials or config.tune.trials)
    space = distributions(config.space)
    prune = len(config.directions()) == 1 and config.tune.pruner != "none"
    pool = _pool(config)
    try:
        pending: deque[Any] = deque()
        while done_count(study) < target:
            while len(pending) + done_count(study) < target and pool.has_idle():
                trial = study.ask(space)
                pool.submit(trial, {"config": str(config.path), "params": trial.params, "number": trial.number,
                                    "study": name, "storage": url, "trial_id": trial._trial_id, "prune": prune,
                                    "pruner": config.tune.pruner})
                pending.append(trial)
            try:
                trial, outcome = pool.next_result()
            except Exception:  # the objective itself failed: no trial stays RUNNING
                for trial in pending:
                    study.tell(trial, state=optuna.trial.TrialState.FAIL)
                raise
            pending.remove(trial)
            _tell(study, trial, outcome)
    finally:
        pool.close()
    return write_reports(study, config, out_dir, url)


def _tell(study: Any, trial: Any, outcome: dict[str, Any] | Exception) -> None:
    import optuna

    if isinstance(outcome, Exception):  # the worker is gone: fail the trial, run its parameters again
        log.warning("trial %d lost its worker (%s); enqueued again", trial.number, _first_line(outcome))
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
        study.enqueue_trial(trial.params, user_attrs={"retry_of": trial.number})
        return
    for key, value in outcome["attrs"].items():
        trial.set_user_attr(key, value)
    if outcome["state"] == "pruned":
        study.tell(trial, state=optuna.trial.TrialState.PRUNED)
    else:
        values = outcome["values"]
        study.tell(trial, values[0] if len(values) == 1 else values)


def _pool(config: TuneConfig):
    from search.tune_pool import RayTrialPool, SerialTrialPool

    tune_section = config.tune
    if tune_section.workers == 0 and not tune_section.address:
        return SerialTrialPool()
    return RayTrialPool(max(1, tune_section.workers), tune_section.address, tune_section.num_cpus,
                        tune_section.num_gpus, tune_section.max_failures)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [exc.__class__.__name__])[0]
