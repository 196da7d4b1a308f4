"""`[log] mlflow = true`: the config as parameters and every generation's figures as metrics in a real MLflow
tracking store (SQLite), read back with MLflow's client; a resumed run continues its MLflow run."""

from __future__ import annotations

import pytest
from mlflow.tracking import MlflowClient

import evolve
from evolve.config import ConfigError
from evolve.mlflow_log import RUN_DIR_TAG
from tests.run_helpers import REPO

XOR = REPO / "configs" / "xor.toml"


def _settings(tmp_path):
    return {"run.progress": False, "run.stop_on_solve": False, "population.size": 40, "log.mlflow": True,
            "log.mlflow_tracking_uri": f"sqlite:///{tmp_path / 'mlflow.db'}", "log.mlflow_experiment": "xor-tests"}


def _runs(tmp_path):
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("xor-tests")
    return client, client.search_runs([experiment.experiment_id])


def test_parameters_metrics_and_summary_are_logged_and_a_resume_continues_the_same_run(tmp_path):
    settings = _settings(tmp_path)
    full = evolve.run(XOR, seed=2, workers=0, generations=4, overrides=settings, out=tmp_path / "full")
    client, (run,) = _runs(tmp_path)
    assert run.info.status == "FINISHED" and run.info.run_name == "full"
    assert run.data.params["neat.conn_add_prob"] == "0.5" and run.data.params["run.seed"] == "2"
    assert run.data.tags[RUN_DIR_TAG] == str((tmp_path / "full").resolve())
    best = client.get_metric_history(run.info.run_id, "fitness/best")
    assert sorted(m.step for m in best) == [0, 1, 2, 3]
    assert [m.value for m in sorted(best, key=lambda m: m.step)] == pytest.approx(
        [m["best_fitness"] for m in full.metrics])
    assert [m.value for m in sorted(client.get_metric_history(run.info.run_id, "species/count"),
                                    key=lambda m: m.step)] == [m["n_species"] for m in full.metrics]
    assert run.data.metrics["summary/evaluations"] == full.evaluations == 160

    evolve.run(XOR, seed=2, workers=0, generations=2, overrides=settings, out=tmp_path / "part")
    evolve.resume(tmp_path / "part", generations=4)
    client, runs = _runs(tmp_path)
    (part,) = [r for r in runs if r.info.run_name == "part"]  # one MLflow run for the run, resumed or not
    assert part.info.status == "FINISHED"
    steps = sorted(m.step for m in client.get_metric_history(part.info.run_id, "fitness/best"))
    assert steps == [0, 1, 2, 3]


def test_a_run_that_fails_is_marked_failed_and_an_unreachable_server_is_one_line(tmp_path):
    def broken(net) -> float:
        raise RuntimeError("this fitness function is broken")

    with pytest.raises(RuntimeError, match="broken"):
        evolve.run(XOR, task=evolve.FunctionTask(broken, 2, 1), seed=0, workers=0, generations=2,
                   overrides=_settings(tmp_path))
    _, (run,) = _runs(tmp_path)
    assert run.info.status == "FAILED"

    unreachable = {**_settings(tmp_path), "log.mlflow_tracking_uri": "http://127.0.0.1:9"}
    with pytest.raises(ConfigError, match="cannot reach the MLflow tracking server at http://127.0.0.1:9"):
        evolve.run(XOR, seed=0, workers=0, generations=1, overrides=unreachable)
