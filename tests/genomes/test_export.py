"""export() and load_genome(): JSON round trips, and TorchScript/ONNX files computing the numpy phenotype's function."""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path
from unittest import mock

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from genomes.activations import ACTIVATIONS, AGGREGATIONS
from genomes.base import GenomeError
from genomes.export import atomic_write, export, load_genome
from genomes.genes import ConnectionGenes, NodeGenes
from genomes.neat_genome import NeatGenome
from tests.neat_helpers import busy_config, grow

TOL = 1e-5
GENOMES = st.builds(
    lambda seed, steps, ff: grow(busy_config(feed_forward=ff, activation_mutate_rate=0.4, aggregation_mutate_rate=0.3),
                                 seed, steps),
    seed=st.integers(0, 2**32 - 1), steps=st.integers(0, 40), ff=st.booleans(),
)


def zoo(feed_forward: bool, activations: tuple[str, ...] = ACTIVATIONS) -> NeatGenome:
    """One hidden node per activation (aggregations in turn), three layers, a disabled connection and an
    input-less output; the recurrent one adds self-loops and output -> hidden feedback."""
    hidden = list(range(3, 3 + len(activations)))
    keys = [0, 1, 2, *hidden, 20]
    activations = ["identity", "tanh", "sigmoid", *activations, "relu"]
    aggregations = ["sum", "product", "min", *(AGGREGATIONS[i % len(AGGREGATIONS)] for i in range(len(hidden))), "max"]
    nodes = NodeGenes.build(keys, np.linspace(-0.5, 0.5, len(keys)), np.linspace(0.7, 1.3, len(keys)), activations,
                            aggregations)
    pairs = [(i, h) for h in hidden for i in (-1, -2, -3)] + [(h, 20) for h in hidden[:4]] + [(20, 0)]
    pairs += [(h, [0, 1, 20][j % 3]) for j, h in enumerate(hidden[4:])]
    if not feed_forward:
        pairs += [(h, h) for h in hidden[::2]] + [(0, hidden[1]), (1, 1)]
    pairs = sorted(set(pairs))
    weights = np.random.default_rng(0).normal(0, 1, len(pairs))
    enabled = np.arange(len(pairs)) != 5
    conns = ConnectionGenes.build(np.arange(len(pairs)), [s for s, _ in pairs], [t for _, t in pairs], weights, enabled)
    genome = NeatGenome(3, 3, feed_forward, nodes, conns)  # output 2 has no inputs at all
    genome.validate()
    return genome


def reference(genome: NeatGenome, x: np.ndarray, steps: int) -> list[np.ndarray]:
    """The numpy phenotype's outputs for `steps` calls on the same input (feed-forward: one call)."""
    network = genome.phenotype()
    return [network.activate(x) for _ in range(steps if not genome.feed_forward else 1)]


def run_steps(step, genome: NeatGenome, x: np.ndarray, steps: int) -> list[np.ndarray]:
    """Outputs of an exported model, feeding a recurrent model's new state back in."""
    if genome.feed_forward:
        return [np.asarray(step(x, None)[0])]
    state, outputs = np.zeros((len(x), len(genome.nodes)), np.float32), []
    for _ in range(steps):
        y, state = step(x, state)
        outputs.append(np.asarray(y))
    return outputs


def torch_step(module: torch.nn.Module):
    """A step function (input, state or None) -> outputs for run_steps over a torch or TorchScript module."""

    def step(a: np.ndarray, s: np.ndarray | None) -> tuple[np.ndarray, ...]:
        with torch.no_grad():
            out = module(torch.from_numpy(a)) if s is None else module(torch.from_numpy(a), torch.from_numpy(s))
        return (out.numpy(),) if s is None else tuple(t.numpy() for t in out)

    return step


def float32_is_enough(genome: NeatGenome, x: np.ndarray, steps: int) -> bool:
    """Whether the eager float32 torch module stays well within TOL of numpy's float64: chaotic genomes (steep
    activations, loops amplifying rounding) cannot match to 1e-5 in float32 whatever the export does."""
    eager = run_steps(torch_step(genome.to_module(torch.float32)), genome, x, steps)
    want = reference(genome, x.astype(np.float64), steps)
    return all(np.allclose(e, r, rtol=TOL / 4, atol=TOL / 4) for e, r in zip(eager, want))


def inputs(genome: NeatGenome, seed: int = 0, batch: int = 5) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1, 1, (batch, genome.num_inputs)).astype(np.float32)


def assert_matches_numpy(step, genome: NeatGenome, x: np.ndarray, steps: int) -> None:
    """The model agrees with the numpy phenotype to TOL on the batch x (every step) and on a batch of one."""
    for got, want in zip(run_steps(step, genome, x, steps), reference(genome, x.astype(np.float64), steps)):
        np.testing.assert_allclose(got, want, rtol=TOL, atol=TOL)
    got = run_steps(step, genome, x[:1], 1)[0]
    np.testing.assert_allclose(got, reference(genome, x[:1].astype(np.float64), 1)[0], rtol=TOL, atol=TOL)


def check_onnx(path: Path, genome: NeatGenome, x: np.ndarray, steps: int = 4) -> None:
    model = onnx.load(path)
    names_in = ["input"] if genome.feed_forward else ["input", "state"]
    names_out = ["output"] if genome.feed_forward else ["output", "new_state"]
    assert [i.name for i in model.graph.input] == names_in and [o.name for o in model.graph.output] == names_out
    for tensor in [*model.graph.input, *model.graph.output]:
        assert tensor.type.tensor_type.shape.dim[0].dim_param, f"{tensor.name}: batch dimension is not dynamic"
    info = json.loads({p.key: p.value for p in model.metadata_props}["neat_export"])
    assert info["state_size"] == (0 if genome.feed_forward else len(genome.nodes))
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])

    def step(a, s):
        return session.run(None, {"input": a} if s is None else {"input": a, "state": s})

    assert_matches_numpy(step, genome, x, steps)


def check_torchscript(path: Path, genome: NeatGenome, x: np.ndarray, steps: int = 4) -> None:
    files = {"neat_export.json": ""}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit is deprecated in favour of torch.export
        module = torch.jit.load(str(path), _extra_files=files)
    assert json.loads(files["neat_export.json"])["recurrent"] is not genome.feed_forward

    assert_matches_numpy(torch_step(module), genome, x, steps)


# -- JSON ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("feed_forward", [True, False])
def test_json_round_trip_is_exact(tmp_path, feed_forward):
    genome = zoo(feed_forward)
    export(genome, "json", tmp_path / "bare.json")
    assert json.loads((tmp_path / "bare.json").read_text()) == genome.to_dict()
    export(genome, "json", tmp_path / "doc.json", metadata={"source": "runs/x", "fitness": np.float32(3.5)})
    doc = json.loads((tmp_path / "doc.json").read_text())
    assert doc == {"schema": "neat-genome-export", "version": 1, "genome": genome.to_dict(), "source": "runs/x",
                   "fitness": 3.5}
    best = tmp_path / "best.json"
    best.write_text(json.dumps({"schema": "evolve-best", "version": 1, "fitness": 1.0, "genome": genome.to_dict()}))
    for path in (tmp_path / "bare.json", tmp_path / "doc.json", best):
        assert load_genome(path).to_dict() == genome.to_dict()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bare.json", "best.json", "doc.json"]


@pytest.mark.parametrize(
    "content",
    [b"", b"\xff\xfe garbage", b"{not json", b"[1, 2]", b'{"schema": "something-else"}', b'{"genome": 3}',
     b'{"schema": "neat-genome", "version": 1}', b'{"schema": "neat-genome-export", "version": 2, "genome": {}}'],
)
def test_load_genome_rejects_garbage(tmp_path, content):
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(GenomeError) as info:
        load_genome(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize(
    "column, index, value, message",
    [("target", 0, 99, "does not exist"), ("innovation", 0, float("inf"), "malformed genome"),
     ("weight", None, 1.5, "malformed genome")],
)
def test_load_genome_rejects_invalid_genomes(tmp_path, column, index, value, message):
    doc = zoo(True).to_dict()
    if index is None:
        doc["connections"][column] = value  # a scalar where a column belongs
    else:
        doc["connections"][column][index] = value
    (tmp_path / "g.json").write_text(json.dumps({"genome": doc}))
    with pytest.raises(GenomeError, match=message) as info:
        load_genome(tmp_path / "g.json")
    assert "\n" not in str(info.value)


def test_load_genome_missing_file(tmp_path):
    with pytest.raises(GenomeError, match="cannot read genome file"):
        load_genome(tmp_path / "missing.json")


def test_export_argument_errors(tmp_path):
    with pytest.raises(ValueError, match="unknown export format 'pickle'"):
        export(zoo(True), "pickle", tmp_path / "g.pkl")
    with pytest.raises(ValueError, match="reserved"):
        export(zoo(True), "json", tmp_path / "g.json", metadata={"genome": 1})
    assert not list(tmp_path.iterdir())


def test_atomic_write_keeps_the_old_file_on_failure(tmp_path):
    path = tmp_path / "g.onnx"
    path.write_bytes(b"old")

    def fail(f: io.BufferedWriter) -> None:
        f.write(b"partial")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        atomic_write(path, fail)
    assert path.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["g.onnx"]
    atomic_write(tmp_path / "new.onnx", lambda f: f.write(b"new"))
    assert (tmp_path / "new.onnx").stat().st_mode == path.stat().st_mode, "permissions differ from a plain write"


def test_writers_that_take_a_path_get_atomic_replacement_and_the_usual_permissions(tmp_path):
    import torch
    from safetensors.torch import load_file, save_model

    from genomes.atomic_io import write_path_atomic

    plain = tmp_path / "plain.bin"
    plain.write_bytes(b"")
    path = tmp_path / "weights.safetensors"
    path.write_bytes(b"old")

    def fail(p) -> None:
        p.write_bytes(b"partial")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        write_path_atomic(path, fail)
    assert path.read_bytes() == b"old" and sorted(p.name for p in tmp_path.iterdir()) == ["plain.bin", path.name]
    model = torch.nn.Linear(3, 2)
    write_path_atomic(path, lambda p: save_model(model, str(p)))  # safetensors alone would leave it 0o600
    assert path.stat().st_mode == plain.stat().st_mode
    torch.testing.assert_close(load_file(path)["weight"], model.weight.detach())


# -- TorchScript and ONNX -----------------------------------------------------------------------------------------
def no_dynamo(original):
    """torch.onnx.export with the torch.export-based exporter failing, to exercise the legacy fallback."""

    def export(*args, **kwargs):
        if kwargs.get("dynamo", True):
            raise RuntimeError("torch.export-based exporter unavailable")
        return original(*args, **kwargs)

    return mock.patch.object(torch.onnx, "export", export)


@settings(max_examples=16, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(genome=GENOMES, seed=st.integers(0, 1000))
def test_torchscript_matches_numpy(tmp_path_factory, genome, seed):
    x = inputs(genome, seed)
    assume(float32_is_enough(genome, x, steps=4))
    path = tmp_path_factory.mktemp("ts") / "g.pt"
    export(genome, "torchscript", path)
    check_torchscript(path, genome, x)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(genome=GENOMES, seed=st.integers(0, 1000))
def test_onnx_legacy_exporter_matches_numpy(tmp_path_factory, genome, seed):
    """The broad random sweep runs through the fallback (legacy) exporter, about 50x faster than the default one."""
    x = inputs(genome, seed)
    assume(float32_is_enough(genome, x, steps=4))
    path = tmp_path_factory.mktemp("onnx") / "g.onnx"
    with no_dynamo(torch.onnx.export):
        export(genome, "onnx", path)
    check_onnx(path, genome, x)


@pytest.mark.parametrize("feed_forward", [True, False], ids=["feed_forward", "recurrent"])
def test_every_activation_and_aggregation_exports(tmp_path, feed_forward):
    genome = zoo(feed_forward)
    x = np.concatenate([inputs(genome, batch=6), [[40, -40, 3], [-90, 70, -5]]]).astype(np.float32)  # saturation
    export(genome, "torchscript", tmp_path / "g.pt")
    check_torchscript(tmp_path / "g.pt", genome, x)
    with no_dynamo(torch.onnx.export):
        export(genome, "onnx", tmp_path / "g.onnx")
    check_onnx(tmp_path / "g.onnx", genome, x)


@pytest.mark.parametrize(
    "genome", [zoo(False), zoo(True, activations=("sin", "gauss", "softplus"))],
    ids=["recurrent_all_ops", "feed_forward"],
)
def test_onnx_default_exporter(tmp_path, caplog, genome):
    """The torch.export-based exporter (2-6 s per model): every activation and aggregation in the recurrent module,
    three layers in the feed-forward one."""
    x = np.concatenate([inputs(genome, batch=6), [[40, -40, 3], [-90, 70, -5]]]).astype(np.float32)
    export(genome, "onnx", tmp_path / "g.onnx", metadata={"source": "zoo"})
    assert "legacy" not in caplog.text
    check_onnx(tmp_path / "g.onnx", genome, x)
    assert [p.name for p in tmp_path.iterdir()] == ["g.onnx"], "no external data file or temporary file"


def test_onnx_export_without_onnx_installed_names_the_missing_package(tmp_path, monkeypatch):
    import importlib.util

    from genomes.base import MutationContext
    from genomes.innovation import InnovationTracker

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "onnxscript" else real(name, *a))
    config = busy_config()
    genome = grow(config, 0, 5, MutationContext(config, InnovationTracker()))
    with pytest.raises(GenomeError, match="ONNX export needs the onnxscript package"):
        export(genome, "onnx", tmp_path / "x.onnx")
    assert not (tmp_path / "x.onnx").exists()
