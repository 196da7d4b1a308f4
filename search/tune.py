"""`evolve tune`: an Optuna study whose trials run in parallel on Ray workers through the ask/tell interface.

Optuna owns sampling, pruning and storage (SQLite in the output directory by default, any SQLAlchemy URL such as
PostgreSQL for clusters); Ray owns execution (one trial per worker); the engine owns the objective
(`search/objectives.py`). The driver asks for a trial, a worker scores it (reporting intermediate values to the
storage so the pruner can stop it), and the driver tells the result.

Several drivers may share one study. Each adds exactly the trials it was asked for, counting only its own. Each
records a heartbeat for its running trials every `tune.heartbeat_seconds`; a RUNNING trial whose heartbeat is older
than three intervals belongs to a driver that died, and any driver fails it and enqueues its parameters again
(Optuna's stale-trial mechanism; `search/tune_storage.py` extends it to a driver killed before its first beat),
while the live trials of other drivers are left alone. A trial whose worker dies, or that an interrupted driver
abandons, is failed and enqueued the same way. The sampler is seeded before every ask from `tune.seed` and the
number of trials already in the study, so a second call explores new points instead of repeating the first call's.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
import warnings
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np

from evolve.config import ConfigError
from search.tune_config import TuneConfig, distributions

log = logging.getLogger(__name__)


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
    """Create the study or load it (same name, same directions), on a storage that keeps trial heartbeats; a bad
    URL or a clash is a ConfigError."""
    import optuna
    import sqlalchemy.exc

    from search.tune_storage import heartbeat_storage

    directions = config.directions()
    multi = len(directions) > 1
    for attempt in range(3):
        try:
            study = optuna.create_study(
                storage=heartbeat_storage(storage, config.tune.heartbeat_seconds, _run_again), study_name=name,
                load_if_exists=True, directions=directions,
                sampler=make_sampler(config.tune.sampler, config.tune.seed, config.tune.startup_trials),
                pruner=make_pruner("none" if multi else config.tune.pruner),
            )
            break
        except (sqlalchemy.exc.OperationalError, sqlalchemy.exc.IntegrityError) as exc:
            # another driver created the tables (or stamped their version) just now: open what it made
            racing = "already exists" in str(exc) or isinstance(exc, sqlalchemy.exc.IntegrityError)
            if racing and attempt < 2:
                time.sleep(0.5)
                continue
            raise ConfigError(f"cannot open study {name!r} at storage {storage!r}: {_first_line(exc)}") from None
        except (sqlalchemy.exc.ArgumentError, sqlalchemy.exc.NoSuchModuleError, ImportError, ValueError) as exc:
            raise ConfigError(f"cannot open study {name!r} at storage {storage!r}: {_first_line(exc)}") from None
    if [d.name.lower() for d in study.directions] != directions:
        raise ConfigError(f"study {name!r} exists with directions {[d.name.lower() for d in study.directions]}, "
                          f"this config optimizes {directions}")
    return study


def _run_again(study: Any, trial: Any) -> None:
    """A trial failed because its driver died (or its worker did): its parameters go back into the queue."""
    log.warning("trial %d was left by a driver or worker that is gone; enqueued again", trial.number)
    study.enqueue_trial(trial.params, user_attrs={"retry_of": trial.number})


def recover(study: Any) -> None:
    """Fail the RUNNING trials whose heartbeat stopped (their driver died) and enqueue their parameters again."""
    import optuna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)


def reseed(study: Any, config: TuneConfig) -> None:
    """A sampler seeded from tune.seed and the trials already in the study: deterministic for a given history, and
    different for every ask, so repeated calls on one study do not repeat each other's points."""
    seen = len(study.get_trials(deepcopy=False))
    seed = int(np.random.SeedSequence([config.tune.seed, seen]).generate_state(1)[0])
    study.sampler = make_sampler(config.tune.sampler, seed, config.tune.startup_trials)


class Heartbeats:
    """Records a heartbeat for each of this driver's running trials, now and every `interval` seconds from a
    thread, so that other drivers can tell them from the trials of a driver that died."""

    def __init__(self, study: Any, interval: float) -> None:
        self._storage, self._interval = study._storage, interval
        self._ids: set[int] = set()
        self._lock, self._stop = threading.Lock(), threading.Event()
        self._thread = threading.Thread(target=self._beat, name="evolve-tune-heartbeat", daemon=True)
        self._thread.start()

    def add(self, trial_id: int) -> None:
        with self._lock:
            self._ids.add(trial_id)
        self._storage.record_heartbeat(trial_id)

    def discard(self, trial_id: int) -> None:
        with self._lock:
            self._ids.discard(trial_id)

    def _beat(self) -> None:
        while not self._stop.wait(self._interval):
            with self._lock:
                ids = sorted(self._ids)
            for trial_id in ids:
                try:
                    self._storage.record_heartbeat(trial_id)
                except Exception as exc:  # noqa: BLE001 - a storage hiccup; the next beat tries again
                    log.warning("could not record trial %d's heartbeat: %s", trial_id, _first_line(exc))

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


def tune(config: TuneConfig, out_dir: Path, trials: int | None = None, storage: str | None = None,
         study_name: str | None = None) -> dict[str, Any]:
    """Add `trials` (default tune.trials) finished trials to the study, whoever else adds trials to it meanwhile;
    write the reports into out_dir."""
    from search.tune_report import check_report_dir, write_reports

    check_report_dir(out_dir)
    import optuna

    out_dir.mkdir(parents=True, exist_ok=True)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    url = storage or config.tune.storage or f"sqlite:///{(out_dir / 'study.db').resolve()}"
    name = study_name or config.study_name
    study = open_study(config, url, name)
    wanted = trials or config.tune.trials
    space = distributions(config.space)
    prune = len(config.directions()) == 1 and config.tune.pruner != "none"
    pool = _pool(config)
    heartbeats = Heartbeats(study, config.tune.heartbeat_seconds)
    pending: deque[Any] = deque()
    finished = 0  # this call's trials told COMPLETE or PRUNED
    try:
        while finished < wanted:
            recover(study)
            while len(pending) + finished < wanted and pool.has_idle():
                reseed(study, config)
                with warnings.catch_warnings():  # heartbeats outside Study.optimize: this loop records them itself
                    warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used")
                    trial = study.ask(space)
                heartbeats.add(trial._trial_id)
                pool.submit(trial, {"config": str(config.path), "params": trial.params, "number": trial.number,
                                    "study": name, "storage": url, "trial_id": trial._trial_id, "prune": prune,
                                    "pruner": config.tune.pruner})
                pending.append(trial)
            try:
                trial, outcome = pool.next_result()
            except Exception:  # the objective itself failed: no trial of this call stays RUNNING
                for trial in pending:
                    study.tell(trial, state=optuna.trial.TrialState.FAIL)
                pending.clear()
                raise
            pending.remove(trial)
            heartbeats.discard(trial._trial_id)
            told = _tell(study, trial, outcome)
            finished += told
            if told:
                _report_trial(trial, outcome, finished, wanted)
    finally:
        heartbeats.close()
        for trial in pending:  # interrupted (Ctrl-C, lost workers): the trials go back into the queue
            _abandon(study, trial)
        pool.close()
    return write_reports(study, config, out_dir, url)


def _abandon(study: Any, trial: Any) -> None:
    import optuna

    try:
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
        study.enqueue_trial(trial.params, user_attrs={"retry_of": trial.number})
    except Exception as exc:  # noqa: BLE001 - the storage is gone too: the heartbeat lets a later call recover it
        log.warning("could not hand trial %d back: %s", trial.number, _first_line(exc))


def _tell(study: Any, trial: Any, outcome: dict[str, Any] | Exception) -> int:
    """Tell the trial's outcome; 1 when it finished (COMPLETE or PRUNED), 0 when its worker died and its
    parameters were enqueued again."""
    import optuna

    if isinstance(outcome, Exception):  # the worker is gone: fail the trial, run its parameters again
        log.warning("trial %d lost its worker (%s); enqueued again", trial.number, _first_line(outcome))
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
        study.enqueue_trial(trial.params, user_attrs={"retry_of": trial.number})
        return 0
    for key, value in outcome["attrs"].items():
        trial.set_user_attr(key, value)
    if outcome["state"] == "pruned":
        study.tell(trial, state=optuna.trial.TrialState.PRUNED)
    else:
        values = outcome["values"]
        study.tell(trial, values[0] if len(values) == 1 else values)
    return 1


def _report_trial(trial: Any, outcome: dict[str, Any], finished: int, wanted: int) -> None:
    """One line on stderr per finished trial of this call, so a long study never sits silent."""
    if outcome["state"] == "pruned":
        result = "pruned"
    else:
        result = "value " + ", ".join(f"{v:.6g}" for v in outcome["values"])
    params = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in trial.params.items())
    print(f"trial {trial.number} ({finished}/{wanted} of this call): {result}; {params}", file=sys.stderr,
          flush=True)


def _pool(config: TuneConfig):
    from search.tune_pool import RayTrialPool, SerialTrialPool

    tune_section = config.tune
    if tune_section.workers == 0 and not tune_section.address:
        return SerialTrialPool()
    return RayTrialPool(max(1, tune_section.workers), tune_section.address, tune_section.num_cpus,
                        tune_section.num_gpus, tune_section.max_failures)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [exc.__class__.__name__])[0]
