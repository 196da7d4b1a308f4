"""The recurrent cell genome: operator invariants, serialization, modules, torch reference cells, training."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from evolve.config import ConfigError, build_section
from genomes.base import GenomeError, MutationContext
from genomes.innovation import InnovationTracker
from genomes.rnn_cell import OPS, X, RnnCellConfig, RnnCellGenome, arity_ok, op_class
from genomes.rnn_module import load_torch_cell
from genomes.rnn_mutation import add_edge, add_node, mutate_op, mutate_width, rewire_edge
from tests.train_helpers import fit_losses

INPUT_SIZE, NUM_OUTPUTS = 3, 2
OPERATIONS = st.lists(st.sampled_from(["mutate", "cross", "cross_equal"]), min_size=1, max_size=20)


def busy_config(initial: str = "lstm", **overrides) -> RnnCellConfig:
    """Tiny widths and high mutation rates, every op in play."""
    params = dict(
        input_size=INPUT_SIZE, num_outputs=NUM_OUTPUTS, hidden_size=4, hidden_sizes=[2, 3, 4, 5], initial=initial,
        node_add_prob=0.5, op_mutate_prob=0.5, rewire_prob=0.4, edge_add_prob=0.4, width_mutate_prob=0.3,
    )
    return RnnCellConfig(**{**params, **overrides})


def start(initial: str = "lstm", **overrides) -> tuple[RnnCellConfig, MutationContext, RnnCellGenome]:
    config = busy_config(initial, **overrides)
    ctx = MutationContext(config, InnovationTracker())
    return config, ctx, RnnCellGenome.initial(config, np.random.default_rng(0), ctx)


def evolve(seed: int, operations: list[str], initial: str):
    """A random sequence of mutations and crossovers over a small population sharing one tracker."""
    config, ctx, first = start(initial)
    rng = np.random.default_rng(seed)
    pop = [first.mutate(rng, ctx) for _ in range(4)]
    history = []
    for op in operations:
        i, j = rng.integers(len(pop), size=2)
        if op == "mutate":
            child = pop[i].mutate(rng, ctx)
        else:
            child = pop[i].crossover(pop[j], rng, ctx, equal=op == "cross_equal")
            history.append((pop[i], pop[j], child))
        pop[int(rng.integers(len(pop)))] = child
    return config, ctx, pop, history


def check_invariants(genome: RnnCellGenome) -> None:
    genome.validate()
    inputs = genome.inputs_of()
    for key, op in genome.ops.items():
        assert arity_ok(op, len(inputs[key])), (key, op, inputs[key])
        if X in inputs[key]:
            assert op_class(op) == "linear"
    order = genome.topological_order()  # raises on a cycle
    position = {k: i for i, k in enumerate(order)}
    for edge in genome.edges:
        assert edge.source < 0 or position[edge.source] < position[edge.target]


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), operations=OPERATIONS, initial=st.sampled_from(["lstm", "gru", "rnn"]))
def test_operation_sequences_keep_every_invariant(seed, operations, initial):
    config, ctx, pop, history = evolve(seed, operations, initial)
    pairs: dict[tuple[int, int], int] = {}
    for genome in pop:
        check_invariants(genome)
        document = genome.to_dict()
        again = RnnCellGenome.from_dict(json.loads(json.dumps(document)))
        assert again.to_dict() == document
        for edge in genome.edges:  # one innovation per (source, target), population-wide and in the tracker
            assert pairs.setdefault((edge.source, edge.target), edge.innovation) == edge.innovation
            assert ctx.innovations.connections[(edge.source, edge.target)] == edge.innovation
        assert genome.distance(genome, config) == 0.0
        for other in pop:
            assert genome.distance(other, config) == pytest.approx(other.distance(genome, config))
            assert genome.distance(other, config) >= 0.0
    for genome in pop:
        with torch.no_grad():
            out = genome.to_module()(torch.randn(3, 5, INPUT_SIZE))
        assert out.shape == (3, NUM_OUTPUTS) and torch.isfinite(out).all()
    for fitter, other, child in history:
        check_invariants(child)
        child_innovations = {e.innovation for e in child.edges}
        assert child_innovations <= {e.innovation for e in fitter.edges} | {e.innovation for e in other.edges}
        assert child.edges == fitter.edges and set(child.ops) == set(fitter.ops)
        assert child.hidden_size in (fitter.hidden_size, other.hidden_size)
        for key, op in child.ops.items():
            assert op == fitter.ops[key] or (op == other.ops.get(key) and op_class(op) == op_class(fitter.ops[key]))


@pytest.mark.parametrize("operator", [add_node, mutate_op, rewire_edge, add_edge, mutate_width])
@pytest.mark.parametrize("initial", ["lstm", "gru", "rnn"])
def test_each_operator_alone_keeps_invariants_and_never_modifies_its_input(operator, initial):
    config, ctx, genome = start(initial)
    rng = np.random.default_rng(1)
    genome = add_node(genome, rng, ctx)  # the Elman cell alone has nothing to rewire to
    changed = 0
    for _ in range(25):
        before = genome.to_dict()
        child = operator(genome, rng, ctx)
        assert genome.to_dict() == before  # immutable parent
        check_invariants(child)
        changed += child.to_dict() != before
        genome = child
    assert changed > 0


def test_add_node_splits_an_edge_keeping_the_target_arity():
    config, ctx, genome = start("lstm")
    rng = np.random.default_rng(3)
    for _ in range(10):
        child = add_node(genome, rng, ctx)
        (new,) = set(child.ops) - set(genome.ops)
        assert len(child.edges) == len(genome.edges) + 1
        assert op_class(child.ops[new]) in ("unary", "linear")
        (source,) = child.inputs_of()[new]
        (target,) = {e.target for e in child.edges if e.source == new}
        assert len(child.inputs_of()[target]) == len(genome.inputs_of()[target])
        assert (source, target) in {(e.source, e.target) for e in genome.edges}
        genome = child


def test_split_of_the_same_edge_reuses_the_node_key_across_genomes():
    config, ctx, genome = start("rnn", node_add_prob=1.0)
    a = add_node(genome, np.random.default_rng(5), ctx)
    b = add_node(genome, np.random.default_rng(5), ctx)
    assert a.to_dict() == b.to_dict() and set(a.ops) - set(genome.ops) == set(b.ops) - set(genome.ops)


def test_dead_nodes_are_kept_in_the_genome_but_left_out_of_the_module():
    config, ctx, genome = start("lstm")
    # Rewire o's use in h_t = o * tanh(c): o (node 5) then reaches no output.
    edges = [e for e in genome.edges if not (e.source == 5 and e.target == 0)]
    edges.append(type(genome.edges[0])(ctx.innovations.connection(2, 0), 2, 0))
    dead = genome.replace(edges=edges)
    check_invariants(dead)
    assert 5 in dead.ops and 5 not in dead.live_nodes()
    module = dead.to_module()
    assert 5 not in module.cell.ops
    assert dead.summary()["params"] == sum(p.numel() for p in module.parameters())
    graph = dead.to_graph()
    assert not graph.edges[-1, 5]["enabled"] and graph.edges[-1, 2]["enabled"]


@pytest.mark.parametrize("initial", ["lstm", "gru", "rnn"])
def test_graph_and_summary(initial):
    config, ctx, genome = start(initial)
    graph = genome.to_graph()
    assert set(graph.nodes) == set(genome.ops) | set(genome.input_keys)
    for _, data in graph.nodes(data=True):
        assert data["role"] in ("input", "hidden", "output") and isinstance(data["label"], str)
        assert isinstance(data["depth"], int)
    assert {graph.nodes[k]["depth"] for k in genome.input_keys} == {0}
    out_depth = max(d for _, d in graph.nodes(data="depth"))
    assert all(graph.nodes[k]["depth"] == out_depth for k in genome.output_keys)
    for _, _, data in graph.edges(data=True):
        assert data["enabled"] is True and data["weight"] == 1.0 and isinstance(data["innovation"], int)
        assert data["op"] == ""
    summary = genome.summary()
    assert summary["nodes"] == len(genome.ops) and summary["edges"] == len(genome.edges)
    assert summary["params"] == sum(p.numel() for p in genome.to_module().parameters())


def test_linear_nodes_with_the_same_inputs_are_fused():
    assert len(start("lstm")[2].to_module().cell.linears) == 1  # the four gates: one matmul
    assert len(start("gru")[2].to_module().cell.linears) == 3  # r|z, W_in x, W_hn h


def _reference_run(reference, x, h, c):
    outputs = []
    for t in range(x.shape[1]):
        if isinstance(reference, torch.nn.LSTMCell):
            h, c = reference(x[:, t], (h, c))
        else:
            h = reference(x[:, t], h)
        outputs.append(h)
    return outputs, c


@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-12), (torch.float32, 1e-5)])
@pytest.mark.parametrize("initial", ["lstm", "gru"])
def test_initial_cells_match_torch_reference_cells(initial, dtype, tol):
    config, ctx, genome = start(initial, hidden_size=5)
    gen = torch.Generator().manual_seed(0)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        reference = (torch.nn.LSTMCell if initial == "lstm" else torch.nn.GRUCell)(INPUT_SIZE, 5).to(dtype)
        module = genome.to_module(dtype)
    load_torch_cell(module, reference)
    x = torch.randn(4, 6, INPUT_SIZE, generator=gen, dtype=dtype)
    h0 = torch.randn(4, 5, generator=gen, dtype=dtype)
    c0 = torch.randn(4, 5, generator=gen, dtype=dtype)
    with torch.no_grad():
        expected, expected_c = _reference_run(reference, x, h0, c0)
        h, c = h0, c0 if initial == "lstm" else None
        for t in range(x.shape[1]):  # the cell, step by step from a nonzero state
            h, c = module.cell(x[:, t], h, c)
            assert torch.allclose(h, expected[t], atol=tol, rtol=0)
        if initial == "lstm":
            assert torch.allclose(c, expected_c, atol=tol, rtol=0)
        zero = torch.zeros_like(h0)
        unrolled, _ = _reference_run(reference, x, zero, zero)
        assert torch.allclose(module.run(x)[0], unrolled[-1], atol=tol, rtol=0)  # the network, from zero state
        assert torch.allclose(module(x), module.head(unrolled[-1]), atol=tol, rtol=0)


def test_load_torch_cell_rejects_a_cell_of_another_structure():
    _, _, gru = start("gru", hidden_size=5)
    with pytest.raises(ValueError):
        load_torch_cell(gru.to_module(), torch.nn.LSTMCell(INPUT_SIZE, 5))
    _, _, lstm = start("lstm", hidden_size=5)
    with pytest.raises(ValueError):
        load_torch_cell(lstm.to_module(), torch.nn.LSTMCell(INPUT_SIZE, 6))


def test_distance_terms():
    config, ctx, genome = start("lstm", compatibility_op=0.5, compatibility_width=0.25)
    wider = genome.replace(hidden_size=8)
    assert genome.distance(wider, config) == pytest.approx(0.25 * 4 / 8)
    other_op = genome.replace(ops={**genome.ops, 8: "sigmoid"})
    assert genome.distance(other_op, config) == pytest.approx(0.5 / len(genome.ops))
    split = add_node(genome, np.random.default_rng(0), ctx)  # one edge replaced by two newer ones: 1 D + 2 E
    n = len(split.edges)
    assert genome.distance(split, config) == pytest.approx(2 / n + 1 / n)


def test_crossover_of_a_parent_with_itself_is_that_parent():
    config, ctx, genome = start("gru")
    genome = genome.mutate(np.random.default_rng(2), ctx)
    child = genome.crossover(genome, np.random.default_rng(3), ctx, equal=True)
    assert child.to_dict() == genome.to_dict()


def _document() -> dict:
    return start("gru")[2].to_dict()


def _set(path: str, value):
    def change(doc: dict) -> None:
        *parents, last = path.split(".")
        target = doc
        for p in parents:
            target = target[p]
        target[last] = value(target[last]) if callable(value) else value
    return change


MALFORMED = {
    "not an object": lambda d: d.clear(),
    "wrong schema": _set("schema", "neat-genome"),
    "wrong version": _set("version", 2),
    "bool hidden size": _set("hidden_size", True),
    "float hidden size": _set("hidden_size", 4.0),
    "huge hidden size": _set("hidden_size", 10**9),
    "memory not bool": _set("memory", 1),
    "nodes not object": _set("nodes", [1, 2]),
    "string key": _set("nodes.key", lambda k: ["0"] + k[1:]),
    "duplicate key": _set("nodes.key", lambda k: [k[0], k[0]] + k[2:]),
    "columns differ in length": _set("nodes.op", lambda o: o[:-1]),
    "unknown op": _set("nodes.op", lambda o: ["softmax"] + o[1:]),
    "missing output": _set("memory", True),
    "negative node key": _set("nodes.key", lambda k: [-5] + k[1:]),
    "dangling source": _set("edges.source", lambda s: [99] + s[1:]),
    "dangling target": _set("edges.target", lambda t: [99] + t[1:]),
    "duplicate innovation": _set("edges.innovation", lambda i: [i[1]] + i[1:]),
    "duplicate pair": _set("edges.source", lambda s: [s[1]] + s[1:]),
    "float innovation": _set("edges.innovation", lambda i: [0.5] + i[1:]),
    "wrong arity": _set("nodes.op", lambda o: ["mul" if op == "tanh" else op for op in o]),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_documents_raise_genome_error(name):
    document = _document()
    MALFORMED[name](document)
    with pytest.raises(GenomeError):
        RnnCellGenome.from_dict(document if name != "not an object" else [])


def _edit_edges(document: dict, edges: list[tuple[int, int, int]]) -> dict:
    doc = copy.deepcopy(document)
    doc["edges"] = {"innovation": [e[0] for e in edges], "source": [e[1] for e in edges],
                    "target": [e[2] for e in edges]}
    return doc


def test_cycles_and_x_into_elementwise_ops_are_rejected():
    document = start("rnn")[2].to_dict()  # h_t = tanh(W[x, h] + b)
    base = list(zip(*document["edges"].values()))
    cyclic = copy.deepcopy(document)
    cyclic["nodes"] = {"key": [0, 2], "op": ["linear_tanh", "identity"]}
    with pytest.raises(GenomeError, match="cycle"):
        RnnCellGenome.from_dict(_edit_edges(cyclic, base + [(10, 0, 2), (11, 2, 0)]))
    unary = copy.deepcopy(document)
    unary["nodes"] = {"key": [0, 2], "op": ["linear_tanh", "tanh"]}
    with pytest.raises(GenomeError, match="x_t"):
        RnnCellGenome.from_dict(_edit_edges(unary, base + [(10, -1, 2), (11, 2, 0)]))
    RnnCellGenome.from_dict(_edit_edges(unary, base + [(10, -2, 2), (11, 2, 0)]))  # h_{t-1} into tanh is fine


def test_config_reads_from_toml_tables():
    config = build_section("rnn", RnnCellConfig, {"hidden_sizes": [8, 16], "initial": "gru", "ops": ["add", "mul"]})
    assert config.hidden_sizes == [8, 16] and config.initial == "gru"
    for bad in ({"hidden_sizes": [8, "16"]}, {"hidden_sizes": [0]}, {"initial": "transformer"}, {"ops": ["conv"]}):
        with pytest.raises(ConfigError):
            build_section("rnn", RnnCellConfig, bad)
    assert set(RnnCellConfig().ops) == set(OPS)


def test_tiny_lstm_trains_on_a_toy_task():
    config, ctx, genome = start("lstm", hidden_size=8, input_size=1, num_outputs=1)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(64, 6, 1, generator=gen)
    y = x.sum(dim=1)  # the running sum of the sequence
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = genome.to_module()
    losses = fit_losses(model, x, y, torch.nn.functional.mse_loss, steps=40, lr=0.03)
    assert losses[-1] < 0.5 * losses[0]
