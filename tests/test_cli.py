"""The `evolve` command line: the contract scripts rely on, and its error paths (one line, exit status 2)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.run_helpers import default_sigint

REPO = Path(__file__).resolve().parents[1]


def evolve(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "evolve.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )


def assert_usage_error(result: subprocess.CompletedProcess, fragment: str) -> None:
    assert result.returncode == 2, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert fragment in lines[0], lines[0]


@pytest.fixture(scope="module")
def xor_run(tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("cli") / "xor"
    result = evolve("run", "configs/xor.toml", "--out", str(run_dir), "--seed", "2", "--set", "run.progress=false")
    assert result.returncode == 0, result.stderr
    assert "solved at generation" in result.stdout
    return run_dir


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["run", "configs/xor.toml", "--set", "population.size=-3"], "population.size must be >= 2, got -3"),
        (["run", "configs/xor.toml", "--set", "neat.unknown=1"], "unknown key neat.unknown (neat has "),
        (["run", "configs/xor.toml", "--set", "population.szie=10"],
         "unknown key population.szie (did you mean population.size?)"),
        (["run", "configs/xor.toml", "--set", "run.generations=ten"], "run.generations must be an int"),
        (["run", "configs/xor.toml", "--set", "env.id=Nope-v0"], "unknown env id 'Nope-v0'"),
        (["run", "no/such/config.toml"], "config file not found"),
        (["run", "configs/xor.toml", "--seed", "abc"], "invalid int value"),
        (["inspect", "no/such/genome.json"], "no such genome file or run directory"),
        (["resume", "/"], "is not a run directory"),
        (["frobnicate"], "invalid choice"),
        (["run", "configs/xor.toml", "--workers", "-2"], "run.workers must be >= -1, got -2"),
        (["run", "configs/xor.toml", "--workers", "0", "--address", "10.0.0.1:6379"], "run.workers = 0 (serial)"),
        (["run", "configs/xor.toml", "--address", "127.0.0.1:1"], "cannot join the Ray cluster at 127.0.0.1:1"),
        (["run", "configs/xor.toml", "--set", "ray.num_gpus=-1"], "ray.num_gpus must be >= 0.0"),
        (["run", "configs/xor.toml", "--set", "neat.num_hidden=100000000"], "neat.num_hidden must be <= 10000"),
        (["run", "configs/xor.toml", "--set", "population.size=50000", "--set", "islands.count=3"],
         "150,000 genomes per generation; at most 100,000"),
        (["run", "configs/xor.toml", "--set", "neat.num_hidden=5000"], "the initial population would hold 3,000,150"),
        (["run", "configs/cartpole.toml", "--set", "env.episodes=1000000000"], "env.episodes must be <= 10000"),
        (["run", "configs/xor.toml", "--out", ""], "argument --out: an empty path names nothing"),
        (["run", "configs/xor.toml", "--out", "/sys/evolve-test"], "/sys/evolve-test: "),
        (["tune", "configs/tune-xor-neat.toml", "--out", ""], "argument --out: an empty path names nothing"),
        (["tune", "configs/tune-xor-neat.toml", "--out", "/sys/evolve-test"], "/sys/evolve-test: "),
        (["tune", "configs/tune-xor-neat.toml", "--out", "configs"], "configs holds 'atari-boxing-ram.toml', which is "
         "no study report"),
        (["tune", "configs/tune-xor-neat.toml", "--out", "README.md"], "README.md is a file, not a folder"),
        (["tune", "configs/tune-xor-neat.toml", "--out", "README.md/sub"], "README.md is a file, not a folder"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, fragment):
    assert_usage_error(evolve(*args), fragment)


def test_malformed_genome_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert_usage_error(evolve("inspect", str(bad)), "")
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"schema": "neat-genome", "version": 1, "num_inputs": 2}))
    assert_usage_error(evolve("export", str(wrong), "--format", "onnx", "-o", str(tmp_path / "x.onnx")), "malformed")


def test_run_refuses_to_overwrite_and_resume_continues(xor_run):
    assert_usage_error(evolve("run", "configs/xor.toml", "--out", str(xor_run)), "already holds a run")
    summary = json.loads((xor_run / "summary.json").read_text())
    # The default executor (auto) keeps a job this small in the process: Ray would only slow it down.
    assert summary["solved"] and summary["executor"] == "auto" and summary["workers"] == 0
    assert summary["executor_chunks"] == {"in_process": summary["generations"], "ray": 0, "ray_started": False}
    again = evolve("resume", str(xor_run))  # solved runs stop; resuming reports the same result
    assert again.returncode == 0, again.stderr
    assert f"nothing to continue: it was solved at generation {summary['solved_generation']}" in again.stdout
    assert "--set run.stop_on_solve=false" in again.stdout
    assert json.loads((xor_run / "summary.json").read_text())["generations"] == summary["generations"]


def test_resume_set_changes_how_a_run_goes_on_but_never_what_it_evolves(xor_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(xor_run, run)
    solved_at = json.loads((run / "summary.json").read_text())["generations"]
    assert_usage_error(evolve("resume", str(run), "--set", "neat.conn_add_prob=0.9"), "resume cannot change "
                       "neat.conn_add_prob")
    assert_usage_error(evolve("resume", str(run), "--set", "ray.num_cpus=-1"), "ray.num_cpus must be > 0.0")
    more = evolve("resume", str(run), "--generations", str(solved_at + 2), "--set", "run.stop_on_solve=false",
                  "--set", "run.progress=false")
    assert more.returncode == 0, more.stderr
    assert json.loads((run / "summary.json").read_text())["generations"] == solved_at + 2
    assert "stop_on_solve = false" in (run / "config.toml").read_text()


def test_resume_from_a_damaged_checkpoint_is_a_clear_error(xor_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(xor_run, run)
    *older, latest = sorted((run / "checkpoints").glob("gen-*.json"))
    for path in older:  # with an intact older checkpoint, resume falls back to it (tests/evolve/test_run_directory)
        path.unlink()
    document = json.loads(latest.read_text())
    document["state"]["genomes"]["node_counts"][0] += 1
    latest.write_text(json.dumps(document))
    # The checkpoint is read before Ray starts, so no start-up message joins the one-line error.
    assert_usage_error(evolve("resume", str(run)), "cannot resume from this checkpoint")
    document["state"]["genomes"]["node_counts"][0] -= 1
    document["run"]["no_such_counter"] = 1
    latest.write_text(json.dumps(document))
    assert_usage_error(evolve("resume", str(run), "--workers", "0"), "bad run progress")
    latest.write_text('{"schema": "evolve-checkp')
    assert_usage_error(evolve("resume", str(run), "--workers", "0"), "not a JSON checkpoint")


def test_inspect_prints_summary_and_renders(xor_run, tmp_path):
    for suffix in (".svg", ".png", ".dot", ".graphml", ".html"):
        out = tmp_path / f"best{suffix}"
        result = evolve("inspect", str(xor_run), "-o", str(out))
        assert result.returncode == 0, result.stderr
        assert "enabled_connections=" in result.stdout and "depth=" in result.stdout
        assert out.stat().st_size > 0
    assert_usage_error(evolve("inspect", str(xor_run), "-o", str(tmp_path / "x.bmp")), "unsupported output format")


def test_export_onnx_matches_the_phenotype(xor_run, tmp_path):
    import onnxruntime as ort

    from genomes.export import load_genome

    out = tmp_path / "best.onnx"
    result = evolve("export", str(xor_run), "--format", "onnx", "-o", str(out))
    assert result.returncode == 0, result.stderr
    genome = load_genome(xor_run / "best.json")
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    session = ort.InferenceSession(str(out))
    (got,) = session.run(None, {session.get_inputs()[0].name: x})
    np.testing.assert_allclose(got, genome.phenotype().activate(x.astype(np.float64)), atol=1e-5)


def test_exports_describe_their_task_and_pt2_is_a_torch_export_program(xor_run, tmp_path):
    import onnx
    import torch

    from genomes.export import load_genome

    interface = {"inputs": ["a", "b"], "outputs": ["a xor b"], "preprocessing": "none (inputs are 0 or 1)",
                 "decode": "above 0.5 is 1, else 0"}
    result = evolve("export", str(xor_run), "--format", "json", "-o", str(tmp_path / "x.json"))
    assert result.returncode == 0, result.stderr
    document = json.loads((tmp_path / "x.json").read_text())
    assert document["task"] == "xor" and document["interface"] == interface
    result = evolve("export", str(xor_run), "--format", "pt2", "-o", str(tmp_path / "x.pt2"))
    assert result.returncode == 0 and result.stderr == "", result.stderr
    extra = {"neat_export.json": ""}
    program = torch.export.load(str(tmp_path / "x.pt2"), extra_files=extra)
    assert json.loads(extra["neat_export.json"])["metadata"]["interface"] == interface
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1], [0.5, 0.5]], dtype=np.float32)
    genome = load_genome(xor_run / "best.json")
    np.testing.assert_allclose(program.module()(torch.from_numpy(x)).numpy(),
                               genome.phenotype().activate(x.astype(np.float64)), atol=1e-5)
    result = evolve("export", str(xor_run), "--format", "onnx", "-o", str(tmp_path / "x.onnx"))
    assert result.returncode == 0, result.stderr
    properties = {p.key: p.value for p in onnx.load(str(tmp_path / "x.onnx")).metadata_props}
    assert json.loads(properties["neat_export"])["metadata"]["interface"] == interface


def test_exporting_a_cell_network_without_trained_weights_warns(tmp_path):
    from genomes.base import MutationContext
    from genomes.cnn_cell import CnnCellConfig, CnnCellGenome
    from genomes.innovation import InnovationTracker

    config = CnnCellConfig(input_shape=[1, 8, 8], num_outputs=3, width=8, widths=[8], cells=2, cells_options=[2])
    genome = CnnCellGenome.initial(config, np.random.default_rng(0), MutationContext(config, InnovationTracker()))
    (tmp_path / "cell.json").write_text(json.dumps(genome.to_dict()))
    result = evolve("export", str(tmp_path / "cell.json"), "--format", "pt2", "-o", str(tmp_path / "cell.pt2"))
    assert result.returncode == 0, result.stderr
    assert "has no trained weights" in result.stderr and "untrained, random weights" in result.stderr


@pytest.mark.parametrize("stop, code, said, executor", [("SIGINT", 130, "interrupted", "serial"),
                                                        ("SIGTERM", 143, "terminated", "serial"),
                                                        ("SIGTERM", 143, "terminated", "ray")])
def test_an_interrupted_run_says_how_to_continue_it(tmp_path, stop, code, said, executor):
    """Ctrl-C, or a scheduler's SIGTERM, stops a run with its last generation saved and says how to continue it;
    also on Ray, whose core worker would otherwise take SIGTERM with a stack dump."""
    import signal
    import subprocess
    import sys
    import time

    run = tmp_path / "run"
    process = subprocess.Popen(
        [sys.executable, "-m", "evolve.cli", "run", "configs/xor.toml", "--generations", "100000",
         "--set", "run.stop_on_solve=false", "--set", "run.progress=false", "--set", f"run.executor={executor}",
         "--set", "run.workers=2" if executor == "ray" else "run.workers=0", "--out", str(run)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[1],
        preexec_fn=default_sigint,
    )
    deadline = time.monotonic() + 120
    while not (run / "checkpoints").is_dir() or not any((run / "checkpoints").iterdir()):
        assert time.monotonic() < deadline and process.poll() is None, process.stderr.read() if process.poll() else ""
        time.sleep(0.1)
    process.send_signal(getattr(signal, stop))
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == code
    assert stderr.strip().splitlines()[-1] == f"evolve: {said}; continue with `evolve resume {run}`"
    assert "received" not in stderr, stderr[-2000:]  # no stack dump from Ray's signal handler
    done = sorted((run / "checkpoints").glob("gen-*.json"))[-1]
    generations = int(done.stem.split("-")[1]) + 2
    resumed = evolve("resume", str(run), "--generations", str(generations))
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads((run / "summary.json").read_text())["generations"] == generations


def test_a_run_whose_output_reader_goes_away_finishes(tmp_path):
    """`evolve run ... 2>&1 | head -1`: the progress is silenced when its reader goes away, not the run."""
    run = tmp_path / "run"
    process = subprocess.Popen(
        [sys.executable, "-m", "evolve.cli", "run", "configs/xor.toml", "--workers", "0", "--generations", "40",
         "--set", "run.stop_on_solve=false", "--log-format", "plain", "--out", str(run)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=REPO)
    assert process.stdout.readline().startswith(b"generation 0 (1/40)")
    process.stdout.close()  # as `head -1` exits
    assert process.wait(timeout=120) == 0
    assert json.loads((run / "summary.json").read_text())["generations"] == 40


def test_the_dashboard_on_a_port_in_use_is_one_line(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert_usage_error(evolve("dashboard", str(tmp_path), "--port", str(port)),
                           f"cannot serve on 127.0.0.1:{port}: Address already in use")


def _chain_genome(path: Path, hidden: int, inputs: int = 1) -> Path:
    """A feed-forward genome: every input into the first of `hidden` chained nodes, the last into the output."""
    chain = list(range(1, hidden + 1))
    pairs = [(-(i + 1), 1) for i in range(inputs)] + list(zip(chain, chain[1:])) + [(hidden, 0)]
    keys = [0, *chain]
    path.write_text(json.dumps({
        "schema": "neat-genome", "version": 1, "num_inputs": inputs, "num_outputs": 1, "feed_forward": True,
        "nodes": {"key": keys, "bias": [0.0] * len(keys), "response": [1.0] * len(keys),
                  "activation": ["tanh"] * len(keys), "aggregation": ["sum"] * len(keys)},
        "connections": {"innovation": list(range(1, len(pairs) + 1)), "source": [p[0] for p in pairs],
                        "target": [p[1] for p in pairs], "weight": [0.5] * len(pairs), "enabled": [True] * len(pairs)},
    }))
    return path


def test_genomes_too_large_to_load_draw_or_trace_are_refused_at_once(tmp_path):
    wide = _chain_genome(tmp_path / "wide.json", 1, inputs=300_000)
    assert_usage_error(evolve("inspect", str(wide)), "300,001 connections genes, more than 200,000")
    chain = _chain_genome(tmp_path / "chain.json", 1_000)
    assert_usage_error(evolve("inspect", str(chain), "-o", str(tmp_path / "chain.svg")),
                       "1,002 nodes are too many to draw as .svg (at most 500)")
    assert_usage_error(evolve("export", str(chain), "--format", "onnx", "-o", str(tmp_path / "chain.onnx")),
                       "the network has 1,001 layers; onnx export takes at most 64")
    assert evolve("inspect", str(chain), "-o", str(tmp_path / "chain.html")).returncode == 0
    assert evolve("export", str(chain), "--format", "json", "-o", str(tmp_path / "copy.json")).returncode == 0


def test_the_last_line_names_the_solutions_fitness_when_a_fitter_genome_was_seen(tmp_path, capsys):
    """On a noisy task the verified solution (best.json) need not be the fittest genome seen (summary.json)."""
    from evolve.cli import _print_summary

    (tmp_path / "best.json").write_text(json.dumps({"fitness": 40.25}))
    summary = {"solved": True, "solved_generation": 19, "generations": 20, "evaluations": 3000, "best_fitness": 46.0,
               "wall_seconds": 1.0}
    _print_summary(tmp_path, summary)
    assert "(20 generations, 3,000 evaluations), solution's fitness 40.25 (best seen 46)," in capsys.readouterr().out
    _print_summary(tmp_path, {**summary, "best_fitness": 40.25, "generations": 1, "solved_generation": 0})
    assert "(1 generation, 3,000 evaluations), best fitness 40.25," in capsys.readouterr().out


def test_evaluate_prints_each_episode_and_a_json_report(xor_run, tmp_path):
    cartpole = tmp_path / "cartpole"
    assert evolve("run", "configs/cartpole.toml", "--out", str(cartpole), "--set", "run.progress=false").returncode == 0
    result = evolve("evaluate", str(cartpole), "--episodes", "4", "--seed", "3", "--json")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert [line.split(":")[0] for line in lines[:4]] == [f"episode {i}" for i in range(4)]
    report = json.loads(lines[-1])
    assert len(report["scores"]) == 4 and report["mean"] == pytest.approx(np.mean(report["scores"]))
    assert report["env"] == "CartPole-v1" and report["solved"] == all(s >= 475 for s in report["scores"])
    again = json.loads(evolve("evaluate", str(cartpole), "--episodes", "4", "--seed", "3", "--json")
                       .stdout.strip().splitlines()[-1])
    assert again["scores"] == report["scores"]  # the same seed plays the same episodes
    xor = json.loads(evolve("evaluate", str(xor_run), "--episodes", "1", "--json").stdout.strip().splitlines()[-1])
    recorded = json.loads((xor_run / "best.json").read_text())["fitness"]  # from the packed population's evaluation
    assert xor["solved"] and xor["scores"] == [pytest.approx(recorded, rel=1e-12)]
    assert_usage_error(evolve("evaluate", str(xor_run), "--episodes", "0"), "--episodes must be between 1 and")
    assert_usage_error(evolve("evaluate", str(tmp_path)), "has no best.json")
