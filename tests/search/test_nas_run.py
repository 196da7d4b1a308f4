"""Architecture search runs end to end: summary fields, trained-weight export, resume, random search, halving."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from envs.supervised_task import SupervisedTask
from evolve.cli import _print_summary, main
from evolve.config import ConfigError, parse_config
from evolve.executor import SerialExecutor
from tests.run_helpers import resume_run, start_run
from genomes.base import MutationContext
from genomes.cell_export import trained_module
from genomes.cnn_cell import CnnCellConfig, CnnCellGenome
from genomes.export import load_genome
from genomes.innovation import InnovationTracker
from tests.run_helpers import run_config, run_metrics

TINY = ("population.size=4", "run.generations=2", "env.epochs=1", "env.rungs=1", "env.final_epochs=1",
        "env.batch_size=256", "env.baseline_width=8")
CNN_DIGITS = ("env.dataset=digits", "cnn.width=8", "cnn.widths=[8]", "cnn.cells=2", "cnn.cells_options=[2]", *TINY)


def test_cnn_search_reports_test_accuracy_beside_the_baseline_and_exports_trained_weights(tmp_path, capsys):
    run_dir = tmp_path / "run"
    summary = start_run(run_config("nas-cnn-mnist1d", *CNN_DIGITS), run_dir, SerialExecutor())
    _print_summary(run_dir, summary)  # the command's last lines
    assert (f"final report: test accuracy {summary['test_accuracy']:.4g} with {summary['params']:,} parameters; "
            f"best baseline cnn: {summary['baseline_test_accuracy']:.4g}") in capsys.readouterr().out
    for key in ("test_accuracy", "baseline_test_accuracy", "params", "baseline_params", "final_wall_seconds",
                "wall_seconds", "train_epochs"):
        assert summary[key] is not None and summary[key] >= 0, key
    assert 0.0 <= summary["test_accuracy"] <= 1.0 and summary["baseline"] == "cnn"
    assert summary["train_epochs"] == 8  # 4 candidates x 2 generations x 1 epoch
    best = json.loads((run_dir / "best.json").read_text())
    assert best["weights"] == "best_weights.safetensors" and best["final"]["test_accuracy"] == summary["test_accuracy"]
    genome = load_genome(run_dir / "best.json")
    module = trained_module(genome, run_dir / best["weights"])
    assert sum(p.numel() for p in module.parameters()) == summary["params"]

    onnx_path = tmp_path / "best.onnx"
    assert main(["export", str(run_dir), "--format", "onnx", "-o", str(onnx_path)]) == 0
    import onnxruntime

    x = np.random.default_rng(0).random((5, 1, 8, 8), dtype=np.float32)
    session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    (onnx_out,) = session.run(None, {"input": x})
    with torch.no_grad():
        expected = module(torch.as_tensor(x)).numpy()
    untrained = trained_module(genome)(torch.as_tensor(x)).detach().numpy()
    np.testing.assert_allclose(onnx_out, expected, atol=1e-4)
    assert not np.allclose(untrained, expected, atol=1e-4), "the export carries the trained weights"

    script_path = tmp_path / "best.pt"
    assert main(["export", str(run_dir), "--format", "torchscript", "-o", str(script_path)]) == 0
    with torch.no_grad():
        scripted = torch.jit.load(str(script_path))(torch.as_tensor(x)).numpy()
    np.testing.assert_allclose(scripted, expected, atol=1e-5)


def test_cnn_search_resumes_exactly(tmp_path):
    config = run_config("nas-cnn-mnist1d", *CNN_DIGITS)
    full = start_run(config, tmp_path / "full", SerialExecutor())
    part_config = run_config("nas-cnn-mnist1d", *CNN_DIGITS, "run.generations=1")
    start_run(part_config, tmp_path / "part", SerialExecutor())
    resumed = resume_run(config, tmp_path / "part", SerialExecutor())
    strip = lambda rows: [{k: v for k, v in r.items() if k != "latency_ms"} for r in rows]  # noqa: E731
    assert strip(run_metrics(tmp_path / "full")) == strip(run_metrics(tmp_path / "part"))
    for key in ("best_fitness", "test_accuracy", "baseline_test_accuracy", "params"):
        assert resumed[key] == full[key], key


def test_lstm_cell_search_trains_lstm_and_gru_baselines(tmp_path):
    config = run_config("nas-lstm-digits-rows", *TINY, "rnn.hidden_size=8", "rnn.hidden_sizes=[8]")
    summary = start_run(config, tmp_path / "run", SerialExecutor())
    assert set(summary["baselines"]) == {"lstm", "gru"}
    assert summary["baseline"] in ("lstm", "gru")
    assert summary["baseline_test_accuracy"] == summary["baselines"][summary["baseline"]]["test_accuracy"]
    assert 0.0 <= summary["test_accuracy"] <= 1.0


def test_random_search_samples_fresh_unrelated_genomes(tmp_path):
    config = run_config("nas-cnn-mnist1d", *CNN_DIGITS, "run.strategy=random", "run.generations=2")
    run_dir = tmp_path / "run"
    start_run(config, run_dir, SerialExecutor())
    checkpoint = json.loads(sorted((run_dir / "checkpoints").glob("*.json"))[-1].read_text())
    assert all(parents == [] for _, parents in checkpoint["state"]["parents"])
    assert checkpoint["state"]["genome_ids"] == [4, 5, 6, 7]


def test_successive_halving_trains_the_best_third_longer_and_is_deterministic():
    task = SupervisedTask(dataset="digits", epochs=3, rungs=2, eta=3, batch_size=256)
    assert task.rung_epochs() == [1, 3]
    config = CnnCellConfig(input_shape=[1, 8, 8], num_outputs=10, width=8, widths=[8], cells=2, cells_options=[2])
    ctx = MutationContext(config, InnovationTracker())
    rng = np.random.default_rng(0)
    genomes = [CnnCellGenome.initial(config, rng, ctx).mutate(rng, ctx) for _ in range(4)]
    results = task.evaluate_batch(genomes, [11, 12, 13, 14])
    fidelity = [r.metrics["fidelity"] for r in results]
    assert sorted(fidelity) == [1, 1, 3, 3]
    promoted = [i for i, f in enumerate(fidelity) if f == 3]
    low = [r.metrics["val_score"] for r in results if r.metrics["fidelity"] == 1]
    assert all(f.fitness == f.metrics["val_score"] for f in results)
    assert len(promoted) == 2 and low
    again = task.evaluate_batch(genomes, [11, 12, 13, 14])
    assert [r.fitness for r in again] == [r.fitness for r in results]


@pytest.mark.parametrize(
    "overrides, message",
    [
        (("genome.kind=neat",), r"section \[cnn\] configures genome.kind = 'cnn', but genome.kind is 'neat'"),
        (("rnn.hidden_size=8",), r"section \[rnn\] configures"),
        (("env.dataset=cifar",), "env.dataset must be one of"),
        (("islands.count=2",), "needs genome.kind = 'neat'"),
    ],
)
def test_bad_search_configs_are_one_line_errors(overrides, message):
    with pytest.raises(ConfigError, match=message):
        run_config("nas-cnn-mnist1d", *overrides)


def test_genome_kind_must_suit_the_task():
    with pytest.raises(ConfigError, match="env 'xor' evaluates genome.kind 'neat', not 'cnn'"):
        parse_config({"genome": {"kind": "cnn"}, "env": {"id": "xor"}})
    with pytest.raises(ConfigError, match="env 'supervised' evaluates genome.kind 'cnn' or 'rnn', not 'neat'"):
        parse_config({"env": {"id": "supervised"}})


def test_cell_search_reports_each_candidate_epoch_the_final_retraining_and_each_baseline(capsys):
    import evolve
    from evolve.callbacks import ProgressLines

    evolve.run(run_config("nas-cnn-mnist1d", *CNN_DIGITS, "env.final_epochs=2"), workers=0,
               callbacks=[ProgressLines(2, every=0.0)])
    err = capsys.readouterr().err.splitlines()
    for candidate in range(1, 5):
        assert any(line.startswith(f"generation 1: genome {candidate}/4: rung 1/1: epoch 1/1: validation ")
                   for line in err), (candidate, err)
    start = err.index("final retraining of the best genome (2 epochs)")
    assert err[start + 1].startswith("final retraining: epoch 1/2: validation ")
    assert err[start + 2].startswith("final retraining: epoch 2/2: validation ")
    assert err[start + 3] == "baseline cnn (1/1, 2 epochs)"
    assert err[start + 4].startswith("baseline cnn: epoch 1/2: validation ")
