"""The convolutional cell genome: operator invariants over random histories, networks on both benchmark shapes,
document validation, graph view and a short training run."""

from __future__ import annotations

import copy
import dataclasses
import json
import re

import networkx as nx
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from evolve.config import build_section
from genomes.base import GenomeError, MutationContext
from genomes.cnn_cell import NORMAL_INPUTS, REDUCTION_INPUTS, CnnCellConfig, CnnCellGenome
from genomes.cnn_module import MIN_REDUCE_SIZE, count_parameters, plan_cells
from genomes.cnn_mutation import add_edge
from genomes.cnn_ops import OPS, make_op
from genomes.reachability import has_cycle
from genomes.innovation import InnovationTracker
from tests.train_helpers import fit_losses

SHAPES = [(1, 40), (1, 8, 8)]
OPERATIONS = st.lists(st.sampled_from(["mutate", "mutate", "cross", "cross_equal", "cross_reverse"]),
                      min_size=1, max_size=14)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny networks run fastest (and steadiest on a shared machine) on one thread."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny_config(shape: tuple[int, ...], **overrides) -> CnnCellConfig:
    """Every op in play, high mutation rates, widths small enough that a forward pass takes milliseconds."""
    params = dict(input_shape=list(shape), num_outputs=3, width=2, widths=[2, 3, 4], cells=2,
                  cells_options=[1, 2, 3, 4, 5], initial_nodes=2, max_nodes=5, node_add_prob=0.5,
                  op_mutate_prob=0.5, rewire_prob=0.4, edge_add_prob=0.4, width_mutate_prob=0.2,
                  depth_mutate_prob=0.3)
    params.update(overrides)
    return CnnCellConfig(**params)


def evolve(shape: tuple[int, ...], seed: int, ops: list[str]):
    """A random history of mutations and crossovers over a small population sharing one tracker."""
    config = tiny_config(shape)
    ctx = MutationContext(config, InnovationTracker())
    rng = np.random.default_rng(seed)
    pop = [CnnCellGenome.initial(config, rng, ctx) for _ in range(3)]
    crosses = []
    for op in ops:
        i, j = (int(k) for k in rng.integers(len(pop), size=2))
        if op == "mutate":
            child = pop[i].mutate(rng, ctx)
        else:
            a, b = (pop[j], pop[i]) if op == "cross_reverse" else (pop[i], pop[j])
            child = a.crossover(b, rng, ctx, equal=op == "cross_equal")
            crosses.append((a, b, child))
        pop[int(rng.integers(len(pop)))] = child
    return config, ctx, pop, crosses


def forward(genome: CnnCellGenome, batch: int = 2) -> torch.Tensor:
    with torch.no_grad():
        return genome.to_module()(torch.randn(batch, *genome.input_shape))


def all_edges(genome: CnnCellGenome):
    return genome.normal.edges + genome.reduction.edges


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), ops=OPERATIONS, shape=st.sampled_from(SHAPES))
def test_histories_keep_every_invariant(seed, ops, shape):
    config, ctx, pop, crosses = evolve(shape, seed, ops)
    pairs: dict[tuple[int, int], int] = {}
    for genome in pop:
        genome.validate()
        document = json.loads(json.dumps(genome.to_dict()))
        assert CnnCellGenome.from_dict(document).to_dict() == genome.to_dict()
        assert not set(genome.normal.nodes) & set(genome.reduction.nodes)
        for cell in (genome.normal, genome.reduction):
            source = np.array([e.source for e in cell.edges], dtype=np.int64)
            target = np.array([e.target for e in cell.edges], dtype=np.int64)
            assert not has_cycle(source, target)
            assert set(cell.nodes) <= {e.target for e in cell.edges if e.enabled}
        assert {e.source for e in genome.normal.edges if e.source < 0} <= set(NORMAL_INPUTS)
        assert {e.source for e in genome.reduction.edges if e.source < 0} <= set(REDUCTION_INPUTS)
        for e in all_edges(genome):
            assert pairs.setdefault((e.source, e.target), e.innovation) == e.innovation
            assert ctx.innovations.connections[(e.source, e.target)] == e.innovation
        assert genome.width in config.widths + [config.width] and genome.cells in config.cells_options + [2]
        logits = forward(genome)
        assert logits.shape == (2, config.num_outputs) and torch.isfinite(logits).all()
    for fitter, other, child in crosses:
        mine, theirs = fitter.edge_ops(), other.edge_ops()
        assert child.edge_ops().keys() == mine.keys(), "disjoint/excess genes come from the fitter parent"
        assert (child.normal.nodes, child.reduction.nodes) == (fitter.normal.nodes, fitter.reduction.nodes)
        for innovation, op in child.edge_ops().items():
            assert op in (mine[innovation], theirs.get(innovation))
        assert child.width in (fitter.width, other.width) and child.cells in (fitter.cells, other.cells)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), ops=OPERATIONS, shape=st.sampled_from(SHAPES))
def test_distance_is_symmetric_nonnegative_and_zero_on_self(seed, ops, shape):
    config, _, pop, _ = evolve(shape, seed, ops)
    config = dataclasses.replace(config, compatibility_excess=2.0, compatibility_disjoint=0.5)  # E and D apart
    for a in pop:
        assert a.distance(a, config) == 0.0
        assert a.distance(copy.deepcopy(a), config) == 0.0
        for b in pop:
            assert a.distance(b, config) == pytest.approx(b.distance(a, config))
            assert a.distance(b, config) >= 0.0


def test_distance_counts_ops_width_and_depth():
    config = tiny_config((1, 40), compatibility_op=1.0, compatibility_width=1.0)
    ctx = MutationContext(config, InnovationTracker())
    a = CnnCellGenome.initial(config, np.random.default_rng(0), ctx)
    edge = a.normal.edges[0]
    other_op = "zero" if edge.op != "zero" else "identity"
    b = a.replace(normal=a.normal.replace(edges=[edge._replace(op=other_op)] + list(a.normal.edges[1:])))
    assert a.distance(b, config) == pytest.approx(1 / len(all_edges(a)))
    c = a.replace(width=4, cells=4)
    assert a.distance(c, config) == pytest.approx(0.5 + 0.5)
    config = dataclasses.replace(config, compatibility_excess=3.0, compatibility_disjoint=0.5)
    grown = a.replace(normal=add_edge(a, a.normal, np.random.default_rng(1), ctx))  # one newer gene: excess
    n = len(all_edges(grown))
    assert n == len(all_edges(a)) + 1 and a.distance(grown, config) == pytest.approx(3.0 / n)
    older = [e for e in all_edges(a) if e.innovation == min(a.edge_ops())][0]  # drop the oldest gene: disjoint
    pruned = grown.replace(normal=grown.normal.replace(edges=[e for e in grown.normal.edges if e != older]))
    assert grown.distance(pruned, config) == pytest.approx(0.5 / n)


def test_parents_are_never_modified():
    config = tiny_config((1, 8, 8))
    ctx = MutationContext(config, InnovationTracker())
    rng = np.random.default_rng(3)
    a, b = (CnnCellGenome.initial(config, rng, ctx) for _ in range(2))
    before = (a.to_dict(), b.to_dict())
    for _ in range(20):
        a.mutate(rng, ctx)
        a.crossover(b, rng, ctx, equal=True)
    assert (a.to_dict(), b.to_dict()) == before
    still = dataclasses.replace(config, **{f"{k}_prob": 0.0 for k in ("node_add", "op_mutate", "rewire", "edge_add",
                                                                     "width_mutate", "depth_mutate")})
    assert a.mutate(rng, MutationContext(still, ctx.innovations)) is a  # nothing to change: the same genome


def test_split_keeps_op_disables_edge_and_aligns_across_genomes():
    config = tiny_config((1, 40), initial_nodes=1, node_add_prob=1.0, node_split_rate=1.0, op_mutate_prob=0.0,
                         rewire_prob=0.0, edge_add_prob=0.0, width_mutate_prob=0.0, depth_mutate_prob=0.0)
    ctx = MutationContext(config, InnovationTracker())
    parent = CnnCellGenome.initial(config, np.random.default_rng(0), ctx)
    children = [parent.mutate(np.random.default_rng(seed), ctx) for seed in range(12)]
    for child in children:
        kind = "normal" if len(child.normal.nodes) == 2 else "reduction"
        cell, old = child.cell(kind), parent.cell(kind)
        (node,) = set(cell.nodes) - set(old.nodes)
        (split,) = [e for e in cell.edges if not e.enabled]
        into, out = ([e for e in cell.edges if e.target == node][0], [e for e in cell.edges if e.source == node][0])
        assert (into.source, out.target, into.op, out.op) == (split.source, split.target, split.op, "identity")
        assert ctx.innovations.splits[split.innovation] == [node]  # the same split gets the same node everywhere
    assert len({c.hidden_keys[-1] for c in children}) <= 4  # at most one new key per edge of the initial cells


@pytest.mark.parametrize("shape", SHAPES + [(2, 7), (1, 3), (1, 5, 3), (3, 1, 1)])
@pytest.mark.parametrize("cells", [1, 2, 3, 4, 5, 6])
def test_every_depth_works_on_every_shape(shape, cells):
    config = tiny_config(shape, initial_nodes=2)
    genome = CnnCellGenome.initial(config, np.random.default_rng(cells), MutationContext(config, InnovationTracker()))
    genome = genome.replace(cells=cells)
    logits = forward(genome)
    assert logits.shape == (2, 3) and torch.isfinite(logits).all()
    plans = plan_cells(genome.input_shape, genome.width, cells)
    assert sum(p.reduction for p in plans) <= 2
    assert all(min(p.in_sizes[1]) >= MIN_REDUCE_SIZE for p in plans if p.reduction)


def test_reductions_halve_and_double():
    plans = plan_cells((1, 8, 8), 4, 3)
    assert [p.reduction for p in plans] == [False, True, True]
    assert [(p.channels, p.size) for p in plans] == [(4, (8, 8)), (8, (4, 4)), (16, (2, 2))]
    assert [p.reduction for p in plan_cells((1, 3), 4, 3)] == [False, False, False]  # too small to reduce


@pytest.mark.parametrize("dims", [1, 2])
def test_every_op_preserves_shape(dims):
    x = torch.randn(2, 3, *([5] * dims))
    for name in OPS:
        assert make_op(name, 3, dims)(x).shape == x.shape, name


def test_graph_view_and_summary(tmp_path):
    config = tiny_config((1, 8, 8))
    _, _, pop, _ = evolve((1, 8, 8), 5, ["mutate"] * 10)
    genome = max(pop, key=lambda g: len(all_edges(g)))
    graph = genome.to_graph()
    assert all(isinstance(k, int) for k in graph.nodes)
    for _, data in graph.nodes(data=True):
        assert data["role"] in ("input", "hidden", "output") and isinstance(data["depth"], int) and data["label"]
    for _, _, data in graph.edges(data=True):
        assert isinstance(data["enabled"], bool) and data["weight"] == 1.0 and isinstance(data["innovation"], int)
        assert data["op"] in OPS or data["op"] == ""
    assert {k for k, d in graph.nodes(data=True) if d["role"] == "input"} == {-1, -2, -3, -4}
    assert graph.number_of_nodes() == 6 + len(genome.hidden_keys)
    assert nx.is_directed_acyclic_graph(graph)
    from genomes.render import render

    for suffix in (".svg", ".dot", ".graphml", ".html"):
        render(genome, tmp_path / f"g{suffix}")
        assert (tmp_path / f"g{suffix}").stat().st_size > 0
    summary = genome.summary()
    assert summary["normal"]["nodes"] == len(genome.normal.nodes)
    assert summary["reduction"]["edges"] + summary["reduction"]["disabled_edges"] == len(genome.reduction.edges)
    assert (summary["nodes"], summary["edges"]) == (len(genome.hidden_keys), genome.num_enabled())
    assert (summary["width"], summary["cells"]) == (genome.width, genome.cells)
    assert summary["params"] == count_parameters(genome.to_module()) > 0
    assert config.num_outputs == 3


def test_defaults_give_small_networks():
    for shape in SHAPES:
        config = CnnCellConfig(input_shape=list(shape), num_outputs=10)
        ctx = MutationContext(config, InnovationTracker())
        rng = np.random.default_rng(0)
        sizes = [CnnCellGenome.initial(config, rng, ctx).summary()["params"] for _ in range(8)]
        assert 5_000 < np.median(sizes) < 60_000


def base_document() -> dict:
    _, _, pop, _ = evolve((1, 40), 7, ["mutate"] * 8)
    return max(pop, key=lambda g: len(all_edges(g))).to_dict()


def edit(document: dict, path: str, value) -> dict:
    out = json.loads(json.dumps(document))
    *parents, last = path.split(".")
    target = out
    for key in parents:
        target = target[int(key)] if isinstance(target, list) else target[key]
    if isinstance(target, list):
        target[int(last)] = value
    elif value is KeyError:
        del target[last]
    else:
        target[last] = value
    return out


MALFORMED = {  # case: (path, new value, what the one-line error must mention)
    "schema": ("schema", "neat-genome", "not a CNN cell genome"),
    "version": ("version", 2, "unsupported genome version"),
    "unknown op": ("normal.edges.op.0", "conv7", "unknown op 'conv7'"),
    "dangling source": ("normal.edges.source.0", 999, "starts at a node that does not exist"),
    "dangling target": ("reduction.edges.target.0", 998, "ends at a node that does not exist"),
    "edge into an input": ("normal.edges.target.0", -1, "ends at a node that does not exist"),
    "wrong cell's input": ("normal.edges.source.0", -3, "starts at a node that does not exist"),
    "float innovation": ("normal.edges.innovation.0", 0.5, "innovation must be a list of int"),
    "bool as int": ("width", True, "width must be an integer"),
    "string width": ("width", "16", "width must be an integer"),
    "enabled not bool": ("normal.edges.enabled.0", 1, "enabled must be a list of bool"),
    "missing cell": ("reduction", KeyError, "KeyError: 'reduction'"),
    "missing column": ("normal.edges.op", KeyError, "op must be a list"),
    "short column": ("normal.edges.op", ["conv3"], "different lengths"),
    "bad shape": ("input_shape", [1, 2, 3, 4], "input_shape"),
    "zero width": ("width", 0, "width"),
    "no nodes": ("normal.nodes", [], "between 1 and"),
    "hidden key clash": ("normal.nodes.0", 0, ">= 2"),
    "cell not object": ("normal", [1, 2], "must be an object"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_documents_raise_genome_error(case):
    path, value, message = MALFORMED[case]
    document = edit(base_document(), path, value)
    with pytest.raises(GenomeError, match=re.escape(message)) as info:
        CnnCellGenome.from_dict(document)
    assert "\n" not in str(info.value) and str(info.value).count("malformed genome") <= 1


def append_edge(document: dict, cell: str, source: int, target: int, innovation: int = 10_000) -> dict:
    edges = document[cell]["edges"]
    grown = {"innovation": [innovation], "source": [source], "target": [target], "op": ["conv3"], "enabled": [True]}
    return edit(document, f"{cell}.edges", {k: edges[k] + grown[k] for k in edges})


def test_structural_violations_raise_genome_error():
    document = base_document()
    normal, reduction = document["normal"], document["reduction"]
    source, target = next((s, t) for s, t in zip(normal["edges"]["source"], normal["edges"]["target"]) if s >= 0)
    node = reduction["nodes"][0]
    shared = append_edge(edit(document, "normal.nodes", sorted(normal["nodes"] + [node])), "normal", -1, node)
    clash = edit(document, "reduction.edges.innovation", [-5 + i for i in range(len(reduction["edges"]["op"]))])
    cases = {
        "contains a cycle": append_edge(document, "normal", target, source),
        "no enabled incoming edge": edit(document, "normal.edges.enabled", [False] * len(normal["edges"]["op"])),
        "duplicate edge": append_edge(document, "normal", source, target),
        "share a node key": shared,
        "non-negative": clash,
        "share an edge innovation": edit(document, "reduction.edges.innovation",
                                         sorted(set(normal["edges"]["innovation"][:1]) | {10**6 + i for i in
                                                range(len(reduction["edges"]["op"]) - 1)})),
        "JSON object": "not a dict",
    }
    for message, bad in cases.items():
        with pytest.raises(GenomeError, match=message):
            CnnCellGenome.from_dict(bad)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.floats(allow_nan=True) | st.text(max_size=6),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=2),
    max_leaves=6,
)
PATHS = ["input_shape", "num_outputs", "width", "cells", "normal.nodes.0", "reduction.nodes.0"] + [
    f"{cell}.edges.{column}.{i}" for cell in ("normal", "reduction")
    for column in ("innovation", "source", "target", "op", "enabled") for i in (0, 1)
]
BASE = base_document()


@settings(max_examples=200, deadline=None)
@given(edits=st.lists(st.tuples(st.sampled_from(PATHS), JSON_VALUES), min_size=1, max_size=3))
def test_corrupted_documents_load_or_fail_cleanly(edits):
    document = BASE
    for path, value in edits:
        try:
            document = edit(document, path, value)
        except (KeyError, IndexError, TypeError):
            continue
    try:
        genome = CnnCellGenome.from_dict(document)
    except GenomeError:
        return
    genome.validate()
    assert genome.to_dict() == CnnCellGenome.from_dict(genome.to_dict()).to_dict()


def test_config_validates_and_reads_from_toml():
    config = build_section("genome", CnnCellConfig, {"input_shape": [1, 8, 8], "num_outputs": 10, "widths": [4, 8]})
    assert config.input_shape == [1, 8, 8] and config.widths == [4, 8] and config.ops == list(OPS)
    for bad in ({"input_shape": [1]}, {"widths": []}, {"ops": []}, {"initial_nodes": 5, "max_nodes": 4}):
        with pytest.raises(ValueError):
            CnnCellConfig(**bad)


@pytest.mark.parametrize("shape", SHAPES)
def test_small_genome_trains(shape):
    config = tiny_config(shape, width=4, cells=2, ops=["conv3", "sep_conv3"], initial_nodes=1)
    genome = CnnCellGenome.initial(config, np.random.default_rng(0), MutationContext(config, InnovationTracker()))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = genome.to_module()
        x, y = torch.randn(16, *shape), torch.randint(0, config.num_outputs, (16,))
        losses = fit_losses(model, x, y, torch.nn.functional.cross_entropy, steps=25, lr=0.02)
    assert np.isfinite(losses).all()
    assert np.mean(losses[-3:]) < 0.7 * np.mean(losses[:3])


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_traced_module_matches_eager():
    """`evolve export` traces the module (batch of one, eval mode): the trace must agree with eager execution."""
    _, _, pop, _ = evolve((1, 8, 8), 2, ["mutate"] * 6)
    module = pop[0].to_module().eval()
    x = torch.randn(1, 1, 8, 8)
    with torch.no_grad():
        traced = torch.jit.trace(module, x)
        assert torch.allclose(traced(x), module(x), atol=1e-6)
