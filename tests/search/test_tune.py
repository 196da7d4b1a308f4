"""`evolve tune` against real storages: SQLite always, PostgreSQL when EVOLVE_TEST_POSTGRES_URL names a server
(.ci/run starts one). Resume adds exactly the requested trials, interrupted and worker-lost trials are failed and
enqueued again, bad input is a one-line error with exit status 2."""

from __future__ import annotations

import json
import textwrap
import time
import uuid
from pathlib import Path

import optuna
import pytest

from evolve.cli import main
from search.tune import _tell, open_study, recover, tune
from search.tune_config import distributions, load_tune_config
from tests.run_helpers import REPO

def write_config(tmp_path: Path, body: str, name: str = "study") -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(textwrap.dedent(body).replace("CONFIGS", str(REPO / "configs")))
    return path


XOR_TUNE = """
    [tune]
    objective = "neat"
    base = "CONFIGS/xor.toml"
    sampler = "tpe"
    pruner = "median"
    seeds = [0, 1]
    [set.run]
    generations = 15
    [set.population]
    size = 40
    [params.neat]
    conn_add_prob = { low = 0.1, high = 0.8 }
    [params.species]
    target_species = { low = 0, high = 6 }
"""


def unique() -> str:
    return f"test-{uuid.uuid4().hex[:10]}"


def finished(study) -> int:
    return sum(t.state.name in ("COMPLETE", "PRUNED") for t in study.get_trials(deepcopy=False))


FAST_HEARTBEAT = XOR_TUNE.replace('pruner = "median"', 'pruner = "median"\n    heartbeat_seconds = 1')


def test_neat_study_adds_exactly_the_requested_trials_and_continues(tmp_path, storage):
    config = load_tune_config(write_config(tmp_path, XOR_TUNE))
    name, out = unique(), tmp_path / "out"
    first = tune(config, out, trials=2, storage=storage, study_name=name)
    assert first["states"]["COMPLETE"] + first["states"]["PRUNED"] == 2
    second = tune(config, out, trials=1, storage=storage, study_name=name)
    assert second["trials"] == 3 and second["best_value"] > 0
    assert set(second["best_params"]) == {"neat.conn_add_prob", "species.target_species"}
    rows = (out / "trials.csv").read_text().splitlines()
    assert len(rows) == 4 and rows[0].startswith("number,state,value")
    assert (out / "history.png").stat().st_size > 0 and (out / "importance.png").stat().st_size > 0
    study = optuna.load_study(study_name=name, storage=storage)
    complete = [t for t in study.trials if t.state.name == "COMPLETE"]
    assert all(t.user_attrs["runs"] == 2 and 0 < t.value <= 15 * 40 for t in complete)
    assert all(len(t.intermediate_values) == t.user_attrs["runs"] for t in complete)


@pytest.mark.parametrize("beats", [1, 0])
def test_a_trial_whose_driver_died_is_failed_and_run_again(tmp_path, storage, beats):
    config = load_tune_config(write_config(tmp_path, FAST_HEARTBEAT))
    name = unique()
    study = open_study(config, storage, name)
    orphan = study.ask(distributions(config.space))
    if beats:
        study._storage.record_heartbeat(orphan._trial_id)  # its driver marked it alive once, then died
    else:  # its driver died between ask and its first beat: the next look for stale trials starts its clock
        recover(study)
        assert study.trials[orphan.number].state.name == "RUNNING"
    time.sleep(5.0)  # three heartbeat intervals without a beat, and the storage clock's one-second steps
    summary = tune(config, tmp_path / "out", trials=1, storage=storage, study_name=name)
    assert summary["states"]["FAIL"] == 1 and finished(optuna.load_study(study_name=name, storage=storage)) == 1
    trials = optuna.load_study(study_name=name, storage=storage).trials
    assert trials[orphan.number].state.name == "FAIL"
    retry = [t for t in trials if t.user_attrs.get("retry_of") == orphan.number]
    assert len(retry) == 1 and retry[0].params == orphan.params and retry[0].state.name in ("COMPLETE", "PRUNED")


def test_repeated_calls_on_one_study_sample_new_points(tmp_path, storage):
    config = load_tune_config(write_config(tmp_path, XOR_TUNE.replace('sampler = "tpe"', 'sampler = "random"')))
    name = unique()
    for _ in range(2):
        tune(config, tmp_path / "out", trials=2, storage=storage, study_name=name)
    points = [tuple(sorted(t.params.items())) for t in optuna.load_study(study_name=name, storage=storage).trials]
    assert len(points) == 4 and len(set(points)) == 4
    again = unique()  # the same history gives the same points: the seeds come from tune.seed and the trial count
    for _ in range(2):
        tune(config, tmp_path / "again", trials=2, storage=storage, study_name=again)
    assert [tuple(sorted(t.params.items())) for t in optuna.load_study(study_name=again, storage=storage).trials] \
        == points


def test_a_trial_whose_worker_dies_is_failed_and_enqueued_again(tmp_path, storage):
    import ray

    from search.tune_pool import RayTrialPool

    long_trial = XOR_TUNE.replace("generations = 15", "generations = 100000\n    stop_on_solve = false")
    config = load_tune_config(write_config(tmp_path, long_trial))
    name = unique()
    study = open_study(config, storage, name)
    pool = RayTrialPool(1, "", 1.0, 0.0, max_failures=1)
    try:
        trial = study.ask(distributions(config.space))
        pool.submit(trial, {"config": str(config.path), "params": trial.params, "prune": False})
        time.sleep(1.0)
        (actor,) = pool.busy_workers()
        ray.kill(actor)
        lost, outcome = pool.next_result()
        assert lost is trial and isinstance(outcome, Exception), outcome
        _tell(study, lost, outcome)
        assert pool.has_idle(), "a fresh worker replaces the dead one"
    finally:
        pool.close()
    again = study.ask(distributions(config.space))
    assert study.trials[trial.number].state.name == "FAIL"
    assert again.params == trial.params and again.user_attrs["retry_of"] == trial.number


def test_train_objective_multi_objective_nsga2_reports_a_pareto_front(tmp_path, storage):
    path = write_config(tmp_path, """
        [tune]
        objective = "train"
        base = "CONFIGS/nas-lstm-digits-rows.toml"
        sampler = "nsga2"
        pruner = "none"
        objectives = ["val_score", "params"]
        [set.env]
        epochs = 1
        batch_size = 256
        [params.rnn]
        hidden_size = { low = 2, high = 12 }
    """)
    name, out = unique(), tmp_path / "out"
    summary = tune(load_tune_config(path), out, trials=3, storage=storage, study_name=name)
    assert summary["directions"] == ["maximize", "minimize"]
    front = summary["pareto_front"]
    assert front and all(len(p["values"]) == 2 and 0 <= p["values"][0] <= 1 for p in front)
    best = json.loads((out / "best.json").read_text())
    assert best["pareto_front"] == front and (out / "history.png").is_file()


def test_train_objective_reports_every_epoch_for_pruning(tmp_path):
    path = write_config(tmp_path, """
        [tune]
        objective = "train"
        base = "CONFIGS/nas-lstm-digits-rows.toml"
        sampler = "random"
        pruner = "median"
        [set.rnn]
        hidden_size = 8
        [set.env]
        batch_size = 256
        [params.env]
        lr = { low = 0.001, high = 0.05, log = true }
        epochs = { low = 2, high = 3 }
    """)
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    tune(load_tune_config(path), tmp_path / "out", trials=2, storage=storage, study_name="s")
    for trial in optuna.load_study(study_name="s", storage=storage).trials:
        assert len(trial.intermediate_values) == trial.params["env.epochs"] == trial.user_attrs["epochs"]
        assert trial.value == max(trial.intermediate_values.values())


@pytest.mark.parametrize(
    "args, body, message",
    [
        (["--storage", "nosuchdb://nowhere"], XOR_TUNE, "cannot open study"),
        ([], XOR_TUNE.replace('sampler = "tpe"', 'sampler = "annealing"'), "tune.sampler must be one of"),
        ([], XOR_TUNE.replace("conn_add_prob = {", "no_such_rate = {"), "unknown key neat.no_such_rate"),
        ([], XOR_TUNE.replace("high = 0.8", "high = 0.05"), "low must be below high"),
        (["--trials", "0"], XOR_TUNE, "--trials must be >= 1"),
        ([], XOR_TUNE.replace("high = 0.8", "high = inf"), "low and high must be finite numbers"),
        ([], XOR_TUNE.replace("high = 6 }", "high = 6, step = 0 }"), "step must be a positive number"),
        ([], XOR_TUNE.replace("seeds = [0, 1]", "seeds = []"), "tune.seeds must name at least one seed"),
        ([], XOR_TUNE.replace('objective = "neat"', 'objective = "train"'), "objective 'train' trains a supervised"),
    ],
)
def test_bad_tune_input_is_one_line_and_exit_status_2(tmp_path, capsys, args, body, message):
    path = write_config(tmp_path, body)
    assert main(["tune", str(path), "--out", str(tmp_path / "out"), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_the_study_opens_in_optuna_dashboard(tmp_path, storage):
    import threading
    import urllib.request
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    import optuna_dashboard

    config = load_tune_config(write_config(tmp_path, XOR_TUNE))
    name = unique()
    tune(config, tmp_path / "out", trials=1, storage=storage, study_name=name)

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args) -> None:
            pass

    server = make_server("127.0.0.1", 0, optuna_dashboard.wsgi(storage), handler_class=Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_port}/api/studies"
        studies = json.loads(urllib.request.urlopen(base, timeout=30).read())["study_summaries"]
        (study_id,) = [s["study_id"] for s in studies if s["study_name"] == name]
        detail = json.loads(urllib.request.urlopen(f"{base}/{study_id}", timeout=30).read())
        assert len(detail["trials"]) == 1 and detail["trials"][0]["state"] in ("Complete", "Pruned")
    finally:
        server.shutdown()
