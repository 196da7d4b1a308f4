"""Several `evolve tune` drivers on one study, on SQLite and on PostgreSQL: each adds exactly its own trials, none
fails another's, and a driver killed with SIGKILL loses only its own trial, which the next call runs again."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest

from search.tune import tune
from search.tune_config import load_tune_config
from search.tune_storage import heartbeat_storage
from tests.run_helpers import default_sigint
from tests.search.test_tune import FAST_HEARTBEAT, unique, write_config

EVOLVE = Path(sys.executable).parent / "evolve"
LONG = FAST_HEARTBEAT.replace("generations = 15", "generations = 100000\n    stop_on_solve = false")


def _driver(config: Path, url: str, name: str, out: Path, trials: int) -> subprocess.Popen:
    return subprocess.Popen([str(EVOLVE), "tune", str(config), "--trials", str(trials), "--storage", url,
                             "--study", name, "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, preexec_fn=default_sigint)


def _states(url: str, name: str) -> list[str]:
    try:
        return [t.state.name for t in optuna.load_study(study_name=name, storage=url).get_trials(deepcopy=False)]
    except KeyError:  # the study is not created yet
        return []


def _wait_running(url: str, name: str, count: int, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while _states(url, name).count("RUNNING") < count:
        assert time.monotonic() < deadline, f"no {count} running trials: {_states(url, name)}"
        time.sleep(0.2)


def test_two_drivers_on_one_study_each_add_their_trials(tmp_path, storage):
    config = write_config(tmp_path, FAST_HEARTBEAT)
    name, out = unique(), tmp_path / "out"  # one output folder too: the reports are written atomically
    drivers = [_driver(config, storage, name, out, 3) for _ in range(2)]
    for driver in drivers:
        _, err = driver.communicate(timeout=600)
        assert driver.returncode == 0, err[-2000:]
        assert "Warning" not in err, err[-2000:]
    states = _states(storage, name)
    assert len(states) == 6 and all(s in ("COMPLETE", "PRUNED") for s in states), states
    assert (out / "trials.csv").read_text().count("\n") == 7


def test_a_killed_driver_loses_only_its_own_trial(tmp_path, storage):
    long = write_config(tmp_path, LONG, "long")
    name = unique()
    alive = _driver(long, storage, name, tmp_path / "alive", 1)
    killed = None
    try:
        _wait_running(storage, name, 1)
        killed = _driver(long, storage, name, tmp_path / "killed", 1)
        _wait_running(storage, name, 2)
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=60)
        # killed at any moment, before its first heartbeat too: the storage's check starts the silent trial's clock
        study = optuna.load_study(study_name=name, storage=heartbeat_storage(storage, 1, lambda *_: None))
        deadline = time.monotonic() + 60  # three heartbeat intervals, however slow this machine is today
        while study.trials[1]._trial_id not in study._storage._get_stale_trial_ids(study._study_id):
            assert time.monotonic() < deadline, "the killed driver's trial never went stale"
            time.sleep(0.5)
        summary = tune(load_tune_config(write_config(tmp_path, FAST_HEARTBEAT)), tmp_path / "third", trials=1,
                       storage=storage, study_name=name)
        trials = optuna.load_study(study_name=name, storage=storage).trials
        assert [t.state.name for t in trials[:2]] == ["RUNNING", "FAIL"], [t.state.name for t in trials]
        retry = [t for t in trials if t.user_attrs.get("retry_of") == 1]
        assert len(retry) == 1 and retry[0].params == trials[1].params
        assert retry[0].state.name in ("COMPLETE", "PRUNED") and summary["states"]["FAIL"] == 1
    finally:
        for process in (alive, killed):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGINT)  # an interrupted driver hands its trial back
                process.communicate(timeout=120)
    states = _states(storage, name)
    assert "RUNNING" not in states and states[0] == "FAIL", states


@pytest.fixture(autouse=True)
def _quiet_optuna():
    optuna.logging.set_verbosity(optuna.logging.WARNING)
