"""The Optuna storage `evolve tune` opens: an RDBStorage with trial heartbeats that also recovers the trials of a
driver that died before its first heartbeat.

Optuna counts a RUNNING trial as stale only once its heartbeat is older than the grace period; a trial that never
had a heartbeat (its driver was killed between `ask` and the first beat) would stay RUNNING forever. Whoever looks
for stale trials here gives such a trial a heartbeat on the storage's clock: a live driver beats over it within
milliseconds, while a dead driver's trial goes stale one grace period later, like any other.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import optuna
from optuna.storages._rdb import models
from optuna.trial import TrialState


class HeartbeatStorage(optuna.storages.RDBStorage):
    """RDBStorage whose stale-trial check starts the clock of RUNNING trials that never beat."""

    def _get_stale_trial_ids(self, study_id: int) -> list[int]:
        stale = super()._get_stale_trial_ids(study_id)
        with self.scoped_session() as session:
            silent = [trial_id for (trial_id,) in session.query(models.TrialModel.trial_id)
                      .outerjoin(models.TrialHeartbeatModel)
                      .filter(models.TrialModel.study_id == study_id,
                              models.TrialModel.state == TrialState.RUNNING,
                              models.TrialHeartbeatModel.trial_heartbeat_id.is_(None))]
        for trial_id in silent:  # if its driver beats at the same moment, Optuna ignores the second insert
            self.record_heartbeat(trial_id)
        return stale


def heartbeat_storage(url: str, interval: int, on_stale: Callable[[Any, Any], None]) -> HeartbeatStorage:
    """A storage whose drivers beat every `interval` seconds; a trial silent for three intervals is stale."""
    # SQLite serializes writers; several drivers and their workers wait for the lock instead of failing at 5 s
    engine = {"connect_args": {"timeout": 120}} if url.startswith("sqlite") else None
    with warnings.catch_warnings():  # Optuna marks heartbeats experimental (since 2.9); they are what we need
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return HeartbeatStorage(url, engine_kwargs=engine, heartbeat_interval=interval, grace_period=3 * interval,
                                heartbeat_stale_trial_callback=on_stale)
