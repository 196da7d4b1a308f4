"""The Python API: a user's own fitness function and Task class on every executor, in-memory runs equal to the CLI's,
task ids by module, and a host process left as it was found."""

from __future__ import annotations

import gc
import itertools
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import ray

import evolve
from evolve.config import ConfigError
from tests.run_helpers import REPO

BITS = np.array(list(itertools.product([0.0, 1.0], repeat=3)))
PARITY = BITS.sum(axis=1) % 2
XOR = REPO / "configs" / "xor.toml"
QUIET = {"run.progress": False}


def parity(net) -> float:
    return float(8.0 - np.abs(net(BITS)[:, 0] - PARITY).sum())


def parity_batched(nets) -> np.ndarray:
    return 8.0 - np.abs(nets(BITS)[:, :, 0] - PARITY).sum(axis=1)


def _timeless(metrics):
    return [{k: v for k, v in m.items() if k != "wall_seconds"} for m in metrics]


def test_parity_with_a_function_task_solves_in_memory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    task = evolve.FunctionTask(parity, 3, 1, solve_fitness=7.5)
    result = evolve.run(XOR, task=task, seed=0, workers=0, generations=300, overrides=QUIET)
    assert result.solved and result.run_dir is None
    assert list(tmp_path.iterdir()) == [], "an in-memory run writes nothing"
    assert len(result.metrics) == result.generations == result.summary["generations"]
    assert result.evaluations == 150 * result.generations
    outputs = result.best_genome.phenotype().activate(BITS)[:, 0]
    assert np.all(np.abs(outputs - PARITY) < 0.5)
    assert result.best["solved"] and result.best["genome"] == result.best_genome.to_dict()
    assert result.summary["env"] == "function:tests.test_api.parity"


def test_function_task_batched_equals_unbatched():
    plain = evolve.FunctionTask(parity, 3, 1)
    batched = evolve.FunctionTask(parity_batched, 3, 1, batched=True)
    one = evolve.run(XOR, task=plain, seed=2, workers=0, generations=5, overrides={**QUIET, "run.stop_on_solve": False})
    many = evolve.run(XOR, task=batched, seed=2, workers=0, generations=5,
                      overrides={**QUIET, "run.stop_on_solve": False})
    np.testing.assert_allclose([m["best_fitness"] for m in one.metrics], [m["best_fitness"] for m in many.metrics],
                               rtol=1e-12)
    assert [m["n_species"] for m in one.metrics] == [m["n_species"] for m in many.metrics]


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING")
    yield
    ray.shutdown()


def test_parity_serial_ray_and_islands_give_identical_metrics(local_ray):
    task = evolve.FunctionTask(parity, 3, 1, solve_fitness=7.5)
    common = dict(task=task, seed=1, generations=6, overrides={**QUIET, "run.stop_on_solve": False})
    serial = evolve.run(XOR, workers=0, **common)
    on_ray = evolve.run(XOR, workers=2, **common)
    assert on_ray.summary["executor"] == "ray" and on_ray.summary["workers"] == 2
    assert _timeless(on_ray.metrics) == _timeless(serial.metrics)
    islands = {**common["overrides"], "islands.count": 2, "islands.migration_interval": 2}
    serial_islands = evolve.run(XOR, workers=0, **{**common, "overrides": islands})
    ray_islands = evolve.run(XOR, workers=2, **{**common, "overrides": islands})
    assert _timeless(ray_islands.metrics) == _timeless(serial_islands.metrics)
    assert all(len(m["islands"]) == 2 for m in ray_islands.metrics)
    assert serial_islands.evaluations == 2 * 150 * 6


def test_in_memory_run_and_the_cli_give_the_same_metrics(tmp_path):
    args = ["--seed", "3", "--workers", "0", "--generations", "6", "--set", "run.stop_on_solve=false"]
    done = subprocess.run([sys.executable, "-m", "evolve.cli", "run", str(XOR), *args, "--out", str(tmp_path / "cli")],
                          capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in (tmp_path / "cli" / "metrics.jsonl").read_text().splitlines()]
    memory = evolve.run(XOR, seed=3, workers=0, generations=6, overrides={**QUIET, "run.stop_on_solve": False})
    assert _timeless(memory.metrics) == _timeless(lines)
    summary = json.loads((tmp_path / "cli" / "summary.json").read_text())
    assert summary["evaluations"] == memory.evaluations and summary["seed"] == 3


PLUGIN = '''
from dataclasses import dataclass

import numpy as np

import evolve

BITS = np.array([[a, b, c] for a in (0.0, 1.0) for b in (0.0, 1.0) for c in (0.0, 1.0)])


@dataclass
class Parity(evolve.Task):
    """3-bit parity as a Task class of a module outside the package."""

    margin: float = 0.5
    num_inputs = 3
    num_outputs = 1

    def evaluate(self, network, rng):
        error = np.abs(network.activate(BITS)[:, 0] - BITS.sum(axis=1) % 2)
        return evolve.EvalResult(float(8 - error.sum()), {"max_error": float(error.max())},
                                 solved=bool(error.max() < self.margin))
'''


def test_a_plugin_module_runs_on_ray_workers_from_the_cli(tmp_path):
    (tmp_path / "parity_plugin.py").write_text(PLUGIN)
    evolve_cli = Path(sys.executable).parent / "evolve"
    done = subprocess.run(
        [str(evolve_cli), "run", str(XOR), "--set", "env.id=parity_plugin:Parity", "--set", "env.margin=0.4",
         "--set", "run.executor=ray", "--generations", "3", "--out", "run"],
        capture_output=True, text=True, cwd=tmp_path, env={**os.environ, "PYTHONPATH": ""},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["executor"] == "ray" and summary["workers"] >= 1
    assert summary["env"] == "parity_plugin:Parity" and summary["generations"] == 3
    assert "margin = 0.4" in (tmp_path / "run" / "config.toml").read_text()
    assert "max_error" in json.loads((tmp_path / "run" / "best.json").read_text())["metrics"]


def test_a_task_published_under_the_entry_point_group_runs_by_its_name(tmp_path, monkeypatch):
    """An installed distribution that declares `[project.entry-points."evolve.tasks"] parity = ...`."""
    (tmp_path / "parity_plugin.py").write_text(PLUGIN)
    info = tmp_path / "parity_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: parity-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[evolve.tasks]\nparity3 = parity_plugin:Parity\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    result = evolve.run(XOR, seed=0, workers=0, generations=2, overrides={**QUIET, "env.id": "parity3"})
    assert result.summary["env"] == "parity3" and "max_error" in result.best["metrics"]


@dataclass
class Half(evolve.Task):
    """The smallest Task: only `evaluate`; every hook keeps its default."""

    num_inputs = 2
    num_outputs = 1

    def evaluate(self, network, rng):
        return evolve.EvalResult(float(network.activate(np.array([0.5, 0.5]))[0]))


def test_task_hooks_have_declared_defaults(tmp_path):
    task = Half()
    assert not task.can_replay() and task.final_report(None, 0, None) == {} and task.prepare() is None
    result = evolve.run(XOR, task=Half, seed=0, workers=0, generations=2, out=tmp_path / "run", overrides=QUIET)
    assert result.summary["env"] == "tests.test_api:Half"  # an importable class runs by name, in every process
    assert result.generations == 2 and (tmp_path / "run" / "best.json").is_file()


def test_a_function_task_run_resumes_with_its_task(tmp_path):
    task = evolve.FunctionTask(parity, 3, 1)
    overrides = {**QUIET, "run.stop_on_solve": False}
    full = evolve.run(XOR, task=task, seed=4, workers=0, generations=6, overrides=overrides)
    evolve.run(XOR, task=task, seed=4, workers=0, generations=3, overrides=overrides, out=tmp_path / "part")
    with pytest.raises(ConfigError, match="names a task object"):
        evolve.resume(tmp_path / "part", generations=6)
    resumed = evolve.resume(tmp_path / "part", task=task, generations=6)
    assert _timeless(resumed.metrics) == _timeless(full.metrics)


def test_unknown_task_modules_are_one_line_errors():
    with pytest.raises(ConfigError, match="cannot import module 'no_such_module'"):
        evolve.run(XOR, overrides={"env.id": "no_such_module:Task"})
    with pytest.raises(ConfigError, match="not a subclass of evolve.Task"):
        evolve.run(XOR, overrides={"env.id": "pathlib:Path"})
    with pytest.raises(ConfigError, match="must be an evolve.Task"):
        evolve.run(XOR, task=object())


def test_library_use_leaves_the_process_as_it_found_it():
    import torch

    before = (gc.get_freeze_count(), sys.getswitchinterval(), torch.get_num_threads(), gc.isenabled())
    evolve.run(XOR, seed=0, workers=0, generations=3, overrides=QUIET, callbacks=[evolve.FreezeHeap()])
    evolve.run(XOR, seed=0, workers=0, generations=3, overrides=QUIET)
    assert (gc.get_freeze_count(), sys.getswitchinterval(), torch.get_num_threads(), gc.isenabled()) == before


def test_a_callback_sees_every_generation_and_can_stop_the_run():
    class StopAtThree(evolve.Callback):
        def __init__(self):
            self.seen = []

        def on_generation(self, record):
            self.seen.append((record.generation, len(record.population), len(record.results)))
            return record.generation == 2

    stopper = StopAtThree()
    result = evolve.run(XOR, seed=0, workers=0, generations=50, overrides={**QUIET, "run.stop_on_solve": False},
                        callbacks=[stopper])
    assert stopper.seen == [(0, 150, 150), (1, 150, 150), (2, 150, 150)] and result.generations == 3


def test_import_evolve_is_cheap_and_the_api_is_curated():
    code = "import sys, evolve; print(sorted(m for m in ('torch', 'ray', 'optuna', 'gymnasium') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
    for name in ("run", "resume", "RunResult", "FunctionTask", "Task", "load_genome", "Callback", "Strategy"):
        assert name in evolve.__all__ and getattr(evolve, name) is not None


HEAVY = ("torch", "ray", "optuna", "gymnasium", "matplotlib", "imageio", "stable_retro", "ale_py")


@pytest.mark.parametrize("argv", [["--help"], ["run", "--help"], ["inspect", "BEST"]])
def test_cheap_commands_import_nothing_heavy(tmp_path, argv):
    best = tmp_path / "best.json"
    genome = evolve.run(XOR, seed=0, workers=0, generations=1, overrides=QUIET).best_genome
    best.write_text(json.dumps({"genome": genome.to_dict()}))
    argv = [str(best) if a == "BEST" else a for a in argv]
    code = ("import sys\nfrom evolve.cli import main\ntry:\n    main(%r)\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in %r if m in sys.modules))" % (argv, HEAVY))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("config", ["xor.toml", "dpv.toml", "cartpole.toml"])
def test_the_default_command_on_a_small_job_imports_no_torch_scipy_networkx_or_ray(tmp_path, config):
    """The default executor (auto) evaluates a small job in the process: no Ray, no torch, and the numpy-only
    population network needs neither scipy nor networkx; CartPole-v1 runs on envs.cartpole, without Gymnasium."""
    heavy = (*HEAVY, "scipy", "networkx")
    argv = ["run", str(REPO / "configs" / config), "--generations", "3", "--out", str(tmp_path / "run")]
    code = ("import sys\nfrom evolve.cli import main\ntry:\n    main(%r)\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in %r if m in sys.modules))" % (argv, heavy))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]"
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["executor"] == "auto" and summary["executor_chunks"]["ray_started"] is False


LAYERS = {"genomes": ("envs", "evolve", "search"), "envs": ("evolve", "search"), "evolve": ("search",)}


@pytest.mark.parametrize("package", sorted(LAYERS))
def test_no_import_runs_against_the_layers(package):
    """genomes <- envs <- evolve <- search, function-level imports included."""
    pattern = re.compile(rf"^\s*(from|import)\s+({'|'.join(LAYERS[package])})\b", re.MULTILINE)
    offenders = [str(path.relative_to(REPO)) for path in (REPO / package).rglob("*.py")
                 if pattern.search(path.read_text())]
    assert offenders == []
