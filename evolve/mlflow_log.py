"""MLflow logging as a Runner callback (`[log] mlflow = true`): the resolved config as the MLflow run's parameters,
every generation's figures as metrics at step = generation (the tags of `evolve.callbacks.SCALARS`, and
fitness/best_so_far), and the summary's numbers at the end.

Talks to the tracking server through `MlflowClient` (no global active run, so a caller's own `mlflow.start_run` is
left alone). A resumed run continues its MLflow run, found by the `evolve.run_dir` tag; generations replayed after a
crash are logged again at the same steps (MLflow keeps every value; it has no purge). Imported only when the option
is on; `pip install mlflow-skinny` is enough.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from evolve.callbacks import SCALARS, Callback, GenerationRecord
from evolve.config import ConfigError
from evolve.run_progress import RunProgress
from evolve.strategy import StrategyState

RUN_DIR_TAG = "evolve.run_dir"
MAX_PARAM_CHARS = 6000  # MLflow's limit on a parameter value
PARAMS_PER_BATCH = 100  # MLflow's limit on parameters per log_batch


class MlflowLog(Callback):
    """Logs a run to MLflow under `experiment` at `tracking_uri` ("" : MLflow's default)."""

    def __init__(self, tracking_uri: str, experiment: str, config: Mapping[str, Any], run_dir: Path | None,
                 run_name: str) -> None:
        self.tracking_uri, self.experiment = tracking_uri, experiment
        self.params = flatten(config)
        self.run_dir = None if run_dir is None else Path(run_dir).resolve()
        self.run_name = run_name
        self.client: Any = None
        self.run_id: str | None = None
        self._ended = False

    def on_start(self, state: StrategyState, progress: RunProgress) -> None:
        try:
            from mlflow.tracking import MlflowClient
        except ImportError as exc:
            raise ConfigError(f"log.mlflow needs MLflow: pip install mlflow-skinny ({exc})") from None
        _check_reachable(self.tracking_uri)
        from mlflow.exceptions import MlflowException

        try:
            self._start(MlflowClient, state)
        except MlflowException as exc:
            raise ConfigError(f"MLflow at {self.tracking_uri or 'its default tracking URI'}: "
                              f"{str(exc.message).splitlines()[0]}") from None

    def _start(self, client_class: Any, state: StrategyState) -> None:
        with _quiet():
            self.client = client_class(self.tracking_uri or None)
            experiment = self.client.get_experiment_by_name(self.experiment)
            experiment_id = (experiment.experiment_id if experiment is not None
                             else self.client.create_experiment(self.experiment))
            self.run_id = self._resumed(experiment_id) if state.generation > 0 else None
            if self.run_id is not None:
                self.client.update_run(self.run_id, status="RUNNING")
                return
            tags = {} if self.run_dir is None else {RUN_DIR_TAG: str(self.run_dir)}
            self.run_id = self.client.create_run(experiment_id, run_name=self.run_name, tags=tags).info.run_id
            from mlflow.entities import Param

            items = [Param(k, v) for k, v in self.params.items()]
            for start in range(0, len(items), PARAMS_PER_BATCH):
                self.client.log_batch(self.run_id, params=items[start : start + PARAMS_PER_BATCH])

    def _resumed(self, experiment_id: str) -> str | None:
        """The MLflow run this run directory logged to before, if any (the newest)."""
        if self.run_dir is None:
            return None
        path = str(self.run_dir).replace("'", "''")
        runs = self.client.search_runs([experiment_id], filter_string=f"tags.`{RUN_DIR_TAG}` = '{path}'",
                                       order_by=["attributes.start_time DESC"], max_results=1)
        return runs[0].info.run_id if runs else None

    def on_generation(self, record: GenerationRecord) -> None:
        values = {tag: record.metrics[key] for key, tag in SCALARS.items() if _number(record.metrics.get(key))}
        if record.state.best is not None:
            values["fitness/best_so_far"] = record.state.best["fitness"]
        self._log(values, record.generation)

    def on_end(self, summary: dict[str, Any], final: dict[str, Any]) -> None:
        numbers = {f"summary/{k}": float(v) for k, v in summary.items() if _number(v) or isinstance(v, bool)}
        self._log(numbers, int(summary.get("generations") or 0))
        self._ended = True

    def _log(self, values: Mapping[str, float], step: int) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        metrics = [Metric(key, float(value), now, step) for key, value in values.items()]
        if metrics:
            self.client.log_batch(self.run_id, metrics=metrics)

    def close(self) -> None:
        if self.client is not None and self.run_id is not None:
            self.client.set_terminated(self.run_id, status="FINISHED" if self._ended else "FAILED")
            self.client = None


def flatten(tables: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """A config's tables as dotted keys ("neat.conn_add_prob") with string values, cut to MLflow's limit."""
    flat: dict[str, str] = {}
    for key, value in tables.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = str(value)[:MAX_PARAM_CHARS]
    return flat


def _check_reachable(uri: str, timeout: float = 5.0) -> None:
    """A tracking server that does not answer is a one-line error now, not minutes of MLflow's HTTP retries."""
    from urllib.parse import urlsplit

    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https"):
        return
    import socket

    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection((parts.hostname or "", port), timeout=timeout).close()
    except OSError as exc:
        raise ConfigError(f"cannot reach the MLflow tracking server at {uri}: {exc.strerror or exc}") from None


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@contextmanager
def _quiet() -> Iterator[None]:
    """MLflow announces at INFO that it creates its database tables and experiments: not news for a run's output."""
    logger = logging.getLogger("mlflow")
    level = logger.level
    logger.setLevel(max(level, logging.WARNING))
    try:
        yield
    finally:
        logger.setLevel(level)
