"""The convolutional cell genome: DARTS-style normal and reduction cells, evolved and speciated like NEAT.

A genome holds two cell DAGs (Liu et al. 2019) plus two network-level genes, the stem width C and the number of
stacked cells. A cell reads two inputs (the outputs of the cell before the previous and of the previous cell),
each intermediate node sums its incoming edges, every edge carries an op from `genomes.cnn_ops.OPS`, and the cell
output concatenates the nodes no other node reads. Edge genes carry NEAT innovation numbers from the population's
tracker, so crossover and compatibility distance align cells by history as in CoDeepNEAT (Miikkulainen et al.
2017). The normal cell's inputs are keys -2/-1 and the reduction cell's -4/-3, so edges out of the inputs of the
two cells never share an innovation; hidden nodes take tracker keys (from 2 on: keys 0 and 1 are the cells' output
nodes in `to_graph`), so the two cells never share a node either. Operators return new genomes.
"""

from __future__ import annotations

import graphlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from genomes import cnn_mutation as m
from genomes.base import GenomeError, MutationContext, SharedDocument
from genomes.cnn_mutation import pick
from genomes.cnn_ops import OPS
from genomes.params import param

if TYPE_CHECKING:
    import networkx as nx
    import torch

SCHEMA = "cnn-cell-genome"
SCHEMA_VERSION = 1
NORMAL_INPUTS = (-2, -1)  # (cell before the previous, previous cell)
REDUCTION_INPUTS = (-4, -3)
OUTPUT_KEYS = {"normal": 0, "reduction": 1}  # the cells' output nodes in to_graph (not genes)
FIRST_HIDDEN = 2  # hidden node keys start here
CELL_KINDS = ("normal", "reduction")
MAX_DIM, MAX_WIDTH, MAX_CELLS, MAX_NODES = 1_000_000, 512, 64, 1024  # bounds on values read from a file


@dataclass
class CnnCellConfig:
    input_shape: list[int] = param([1, 40], doc="(channels, length) or (channels, height, width); set by the task")
    num_outputs: int = param(10, ge=1, doc="set by the task")
    width: int = param(16, ge=1, le=MAX_WIDTH, doc="stem channels C of the initial genomes")
    widths: list[int] = param([8, 16, 24, 32], doc="stem widths the width mutation picks from")
    cells: int = param(3, ge=1, le=MAX_CELLS, doc="stacked cells of the initial genomes")
    cells_options: list[int] = param([2, 3, 4, 5], doc="cell counts the depth mutation picks from")
    initial_nodes: int = param(1, ge=1, doc="intermediate nodes per cell in the initial genomes")
    max_nodes: int = param(4, ge=1, le=MAX_NODES, doc="add-node stops at this many nodes per cell (DARTS: 4)")
    ops: list[str] = param(list(OPS), each_in=OPS, doc="ops that new and mutated edges choose from")
    node_add_prob: float = param(0.15, ge=0.0, le=1.0)
    node_split_rate: float = param(0.5, ge=0.0, le=1.0, doc="share of add-node mutations that split an edge")
    op_mutate_prob: float = param(0.5, ge=0.0, le=1.0)
    rewire_prob: float = param(0.1, ge=0.0, le=1.0)
    edge_add_prob: float = param(0.15, ge=0.0, le=1.0)
    width_mutate_prob: float = param(0.1, ge=0.0, le=1.0)
    depth_mutate_prob: float = param(0.1, ge=0.0, le=1.0)
    compatibility_excess: float = param(1.0, ge=0.0, doc="c1, on excess edge genes / N")
    compatibility_disjoint: float = param(1.0, ge=0.0, doc="c2, on disjoint edge genes / N")
    compatibility_op: float = param(0.5, ge=0.0, doc="on the share of matching edges whose op differs")
    compatibility_width: float = param(0.5, ge=0.0, doc="on the relative width and depth differences")

    def __post_init__(self) -> None:
        if len(self.input_shape) not in (2, 3) or min(self.input_shape) < 1:
            raise ValueError("input_shape must be [channels, length] or [channels, height, width], all >= 1")
        if not self.ops:
            raise ValueError("ops must name at least one op")
        for name, values, top in (("widths", self.widths, MAX_WIDTH), ("cells_options", self.cells_options, MAX_CELLS)):
            if not values or not all(1 <= v <= top for v in values):
                raise ValueError(f"{name} must be a non-empty list of integers between 1 and {top}")
        if self.initial_nodes > self.max_nodes:
            raise ValueError("initial_nodes must not exceed max_nodes")


class EdgeGene(NamedTuple):
    innovation: int
    source: int
    target: int
    op: str
    enabled: bool


EDGE_COLUMNS = {"innovation": int, "source": int, "target": int, "op": str, "enabled": bool}


@dataclass(frozen=True)
class CellGenes:
    """One cell DAG: its two input keys, intermediate node keys (sorted) and edge genes (sorted by innovation)."""

    inputs: tuple[int, int]
    nodes: tuple[int, ...]
    edges: tuple[EdgeGene, ...]

    def replace(self, nodes: tuple[int, ...] | None = None, edges: Any = None) -> CellGenes:
        nodes = self.nodes if nodes is None else tuple(sorted(nodes))
        edges = self.edges if edges is None else tuple(sorted(edges))
        return CellGenes(self.inputs, nodes, edges)

    def pairs(self) -> set[tuple[int, int]]:
        return {(e.source, e.target) for e in self.edges}

    def order(self) -> list[int]:
        """Intermediate nodes in topological order (over all edge genes; raises graphlib.CycleError)."""
        preds: dict[int, set[int]] = {n: set() for n in self.nodes}
        for e in self.edges:
            preds.setdefault(e.target, set()).add(e.source)
        nodes = set(self.nodes)
        return [n for n in graphlib.TopologicalSorter(preds).static_order() if n in nodes]

    def output_nodes(self) -> list[int]:
        """Intermediate nodes no enabled edge reads: the ones the cell output concatenates."""
        consumed = {e.source for e in self.edges if e.enabled}
        return [n for n in self.nodes if n not in consumed]

    def reaches(self, start: int, goal: int) -> bool:
        """Whether a directed path of edge genes leads from start to goal."""
        stack, seen = [start], {start}
        while stack:
            node = stack.pop()
            if node == goal:
                return True
            for e in self.edges:
                if e.source == node and e.target not in seen:
                    seen.add(e.target)
                    stack.append(e.target)
        return False

    def validate(self, kind: str) -> None:
        where = f"{kind} cell"
        if not self.nodes or len(self.nodes) > MAX_NODES:
            raise GenomeError(f"{where} must have between 1 and {MAX_NODES} intermediate nodes")
        if list(self.nodes) != sorted(set(self.nodes)) or self.nodes[0] < FIRST_HIDDEN:
            raise GenomeError(f"{where}: node keys must be unique, sorted and >= {FIRST_HIDDEN}")
        innovations = [e.innovation for e in self.edges]
        if innovations != sorted(set(innovations)) or (innovations and innovations[0] < 0):
            raise GenomeError(f"{where}: edge innovations must be unique, sorted and non-negative")
        if bad := sorted({e.op for e in self.edges} - set(OPS)):
            raise GenomeError(f"{where}: unknown op {bad[0]!r}")
        nodes = set(self.nodes)
        if not {e.source for e in self.edges} <= nodes | set(self.inputs):
            raise GenomeError(f"{where}: an edge starts at a node that does not exist")
        if not {e.target for e in self.edges} <= nodes:
            raise GenomeError(f"{where}: an edge ends at a node that does not exist (or at a cell input)")
        if len(self.pairs()) != len(self.edges):
            raise GenomeError(f"{where}: duplicate edge between the same pair of nodes")
        if missing := sorted(nodes - {e.target for e in self.edges if e.enabled}):
            raise GenomeError(f"{where}: node {missing[0]} has no enabled incoming edge")
        try:
            self.order()
        except graphlib.CycleError:
            raise GenomeError(f"{where} contains a cycle") from None

    def to_dict(self) -> dict[str, Any]:
        return {"nodes": list(self.nodes), "edges": {name: [getattr(e, name) for e in self.edges]
                                                     for name in EDGE_COLUMNS}}

    @classmethod
    def from_dict(cls, data: Any, inputs: tuple[int, int], kind: str, validate: bool) -> CellGenes:
        if validate:
            _check_cell_document(data, kind)
        edges = data["edges"]
        columns = [edges[name] for name in EDGE_COLUMNS]
        genes = [EdgeGene(int(i), int(s), int(t), str(op), bool(on)) for i, s, t, op, on in zip(*columns)]
        return cls(inputs, tuple(int(n) for n in data["nodes"]), tuple(genes))


class CnnCellGenome(SharedDocument):
    __slots__ = ("input_shape", "num_outputs", "width", "cells", "normal", "reduction", "_document")

    def __init__(self, input_shape: tuple[int, ...], num_outputs: int, width: int, cells: int,
                 normal: CellGenes, reduction: CellGenes) -> None:
        self.input_shape = tuple(int(v) for v in input_shape)
        self.num_outputs = int(num_outputs)
        self.width = int(width)
        self.cells = int(cells)
        self.normal = normal
        self.reduction = reduction
        self._document: dict[str, Any] | None = None

    # -- construction ---------------------------------------------------------------------------------------------
    @classmethod
    def initial(cls, config: CnnCellConfig, rng: np.random.Generator, ctx: MutationContext) -> CnnCellGenome:
        """A starting genome: `initial_nodes` nodes per cell, the first fed by both cell inputs, each later one by
        the previous node and the previous cell; ops drawn from `config.ops` (avoiding "zero" where possible).
        Initial nodes have fixed keys, the same in every genome of the population, so their edges align."""
        tracker = ctx.innovations
        k = config.initial_nodes
        tracker.next_node_key = max(tracker.next_node_key, FIRST_HIDDEN + 2 * k)
        live = [op for op in config.ops if op != "zero"] or list(config.ops)
        cells = []
        for c, inputs in enumerate((NORMAL_INPUTS, REDUCTION_INPUTS)):
            nodes = [FIRST_HIDDEN + c * k + j for j in range(k)]
            pairs = [(inputs[0] if j == 0 else nodes[j - 1], n) for j, n in enumerate(nodes)]
            pairs += [(inputs[1], n) for n in nodes]
            edges = [EdgeGene(tracker.connection(s, t), s, t, pick(rng, live), True) for s, t in pairs]
            cells.append(CellGenes(inputs, tuple(nodes), tuple(sorted(edges))))
        return cls(tuple(config.input_shape), config.num_outputs, config.width, config.cells, *cells)

    def replace(self, **changes: Any) -> CnnCellGenome:
        """A copy with some of input_shape, num_outputs, width, cells, normal, reduction replaced."""
        fields = {name: getattr(self, name) for name in self.__slots__[:-1]}
        return CnnCellGenome(**{**fields, **changes})

    # -- properties -----------------------------------------------------------------------------------------------
    def cell(self, kind: str) -> CellGenes:
        return self.normal if kind == "normal" else self.reduction

    @property
    def hidden_keys(self) -> list[int]:
        return sorted(self.normal.nodes + self.reduction.nodes)

    def num_enabled(self) -> int:
        return sum(e.enabled for e in self.normal.edges + self.reduction.edges)

    def edge_ops(self) -> dict[int, str]:
        """Op of every edge gene of both cells, by innovation number."""
        return {e.innovation: e.op for e in self.normal.edges + self.reduction.edges}

    # -- genetic operators ----------------------------------------------------------------------------------------
    def mutate(self, rng: np.random.Generator, ctx: MutationContext) -> CnnCellGenome:
        """Each mutation with its own probability per offspring: add node, add edge, rewire, change op (in a cell
        picked at random), change width, change depth. Returns self when nothing changed."""
        config: CnnCellConfig = ctx.config
        genome = self
        for prob, operator in ((config.node_add_prob, m.add_node), (config.edge_add_prob, m.add_edge),
                               (config.rewire_prob, m.rewire), (config.op_mutate_prob, m.change_op)):
            if rng.random() < prob:
                kind = CELL_KINDS[int(rng.integers(2))]
                cell = operator(genome, genome.cell(kind), rng, ctx)
                genome = genome if cell is genome.cell(kind) else genome.replace(**{kind: cell})
        if rng.random() < config.width_mutate_prob and set(config.widths) - {genome.width}:
            genome = genome.replace(width=m.other_choice(rng, genome.width, config.widths))
        if rng.random() < config.depth_mutate_prob and set(config.cells_options) - {genome.cells}:
            genome = genome.replace(cells=m.other_choice(rng, genome.cells, config.cells_options))
        return genome

    def crossover(self, other: CnnCellGenome, rng: np.random.Generator, ctx: MutationContext,
                  equal: bool = False) -> CnnCellGenome:
        """Child of self (the fitter parent) and other, aligned by innovation number: a matching edge gene takes
        its op from either parent at random; every other gene, the nodes and the enabled flags come from the
        fitter parent; width and depth from either parent at random.

        Disjoint and excess genes come from the fitter parent also when `equal`: a cell is one coupled DAG, and
        grafting the other parent's disjoint edges onto it would change which nodes the cell concatenates, could
        reference nodes the child lacks or close cycles, and would grow the child past both parents (slower to
        train on CPU). Keeping the first parent's topology makes every child a valid, tested architecture; between
        equally fit parents, the one passed first (the strategy's draw) gives the topology.
        """
        del equal  # see the docstring: the same rule applies to equally fit parents
        theirs = other.edge_ops()

        def mix(cell: CellGenes) -> CellGenes:
            flips = rng.random(len(cell.edges)) < 0.5
            edges = [e._replace(op=theirs[e.innovation]) if flip and e.innovation in theirs else e
                     for e, flip in zip(cell.edges, flips)]
            return CellGenes(cell.inputs, cell.nodes, tuple(edges))

        normal, reduction = mix(self.normal), mix(self.reduction)
        width, cells = (a if flip else b for a, b, flip in
                        zip((other.width, other.cells), (self.width, self.cells), rng.random(2) < 0.5))
        return self.replace(normal=normal, reduction=reduction, width=width, cells=cells)

    def distance(self, other: CnnCellGenome, config: CnnCellConfig) -> float:
        """c_excess*E/N + c_disjoint*D/N over the edge genes of both cells (N: the larger edge count), plus c_op
        times the share of matching edges whose op differs, plus c_width * (|C1-C2|/max C + |L1-L2|/max L)."""
        a, b = self.edge_ops(), other.edge_ops()
        matching = a.keys() & b.keys()
        if a and b:
            excess = sum(i > max(b) for i in a) + sum(i > max(a) for i in b)
        else:
            excess = len(a) + len(b)
        disjoint = len(a) + len(b) - 2 * len(matching) - excess
        n = max(len(a), len(b), 1)
        op_share = sum(a[i] != b[i] for i in matching) / len(matching) if matching else 0.0
        shape = (abs(self.width - other.width) / max(self.width, other.width)
                 + abs(self.cells - other.cells) / max(self.cells, other.cells))
        return float(config.compatibility_excess * excess / n + config.compatibility_disjoint * disjoint / n
                     + config.compatibility_op * op_share + config.compatibility_width * shape)

    # -- views ----------------------------------------------------------------------------------------------------
    def to_module(self) -> torch.nn.Module:
        """The network: (batch, *input_shape) -> (batch, num_outputs) logits."""
        from genomes.cnn_module import CellNetwork

        return CellNetwork(self)

    def to_graph(self) -> nx.DiGraph:
        """Both cells in one DiGraph: the reduction cell's inputs keyed -4/-3, one output node per cell (keys 0
        and 1, fed by the cell's concatenated nodes through edges with innovation -1 and op ""), ops as edge
        `op`/`label`."""
        import networkx as nx

        from genomes.graph import node_depths

        graph = nx.DiGraph(schema=SCHEMA, input_shape="x".join(map(str, self.input_shape)),
                           num_outputs=self.num_outputs, width=self.width, cells=self.cells)
        for kind in CELL_KINDS:
            cell, tag, out = self.cell(kind), kind[0].upper(), OUTPUT_KEYS[kind]
            for key, name in zip(cell.inputs, ("k-2", "k-1")):
                graph.add_node(key, role="input", label=f"{tag} {name}", cell=kind)
            for key in cell.nodes:
                graph.add_node(key, role="hidden", label=f"{tag.lower()}{key}", cell=kind)
            graph.add_node(out, role="output", label=f"{tag} out", cell=kind)
            for e in cell.edges:
                graph.add_edge(e.source, e.target, enabled=e.enabled, weight=1.0, innovation=e.innovation,
                               op=e.op, label=e.op)
            for node in cell.output_nodes():
                graph.add_edge(node, out, enabled=True, weight=1.0, innovation=-1, op="", label="concat")
        for key, depth in node_depths(graph).items():
            graph.nodes[key]["depth"] = depth
        return graph

    def summary(self) -> dict[str, Any]:
        """Short figures for `evolve inspect` and metrics: nodes, enabled edges, width, cells, params (see
        `genomes.cnn_module.summary`)."""
        from genomes.cnn_module import summary

        return summary(self)

    # -- serialization --------------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"schema": SCHEMA, "version": SCHEMA_VERSION, "input_shape": list(self.input_shape),
                "num_outputs": self.num_outputs, "width": self.width, "cells": self.cells,
                "normal": self.normal.to_dict(), "reduction": self.reduction.to_dict()}

    @classmethod
    def from_dict(cls, data: Any, validate: bool = True) -> CnnCellGenome:
        """Build a genome from its JSON document (validated unless trusted); raises GenomeError on any problem."""
        if not isinstance(data, dict):
            raise GenomeError("genome document must be a JSON object")
        if data.get("schema") != SCHEMA:
            raise GenomeError(f"not a CNN cell genome (schema {data.get('schema')!r}, expected {SCHEMA!r})")
        if data.get("version") != SCHEMA_VERSION:
            raise GenomeError(f"unsupported genome version {data.get('version')!r} (this build reads {SCHEMA_VERSION})")
        try:
            if validate:
                _check_header(data)
            normal = CellGenes.from_dict(data["normal"], NORMAL_INPUTS, "normal", validate)
            reduction = CellGenes.from_dict(data["reduction"], REDUCTION_INPUTS, "reduction", validate)
            genome = cls(data["input_shape"], data["num_outputs"], data["width"], data["cells"], normal, reduction)
        except GenomeError:
            raise
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise GenomeError(f"malformed genome: {exc.__class__.__name__}: {exc}") from None
        if validate:
            genome.validate()
        return genome

    def validate(self) -> None:
        """Check every structural invariant; raises GenomeError."""
        shape = self.input_shape
        if len(shape) not in (2, 3) or not all(1 <= v <= MAX_DIM for v in shape):
            raise GenomeError("input_shape must be [channels, length] or [channels, height, width] of positive sizes")
        if not (1 <= self.num_outputs <= MAX_DIM and 1 <= self.width <= MAX_WIDTH and 1 <= self.cells <= MAX_CELLS):
            raise GenomeError(f"num_outputs, width and cells must be in 1..{MAX_DIM}, 1..{MAX_WIDTH}, 1..{MAX_CELLS}")
        self.normal.validate("normal")
        self.reduction.validate("reduction")
        if set(self.normal.nodes) & set(self.reduction.nodes):
            raise GenomeError("the normal and reduction cells share a node key")
        if {e.innovation for e in self.normal.edges} & {e.innovation for e in self.reduction.edges}:
            raise GenomeError("the normal and reduction cells share an edge innovation")

    def __repr__(self) -> str:
        return (f"CnnCellGenome(shape={list(self.input_shape)}, width={self.width}, cells={self.cells}, "
                f"normal={len(self.normal.nodes)}n/{len(self.normal.edges)}e, "
                f"reduction={len(self.reduction.nodes)}n/{len(self.reduction.edges)}e)")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_header(data: dict[str, Any]) -> None:
    shape = data.get("input_shape")
    if not isinstance(shape, list) or not all(_is_int(v) for v in shape):
        raise GenomeError("malformed genome: input_shape must be a list of integers")
    for name in ("num_outputs", "width", "cells"):
        if not _is_int(data.get(name)):
            raise GenomeError(f"malformed genome: {name} must be an integer")


def _check_cell_document(data: Any, kind: str) -> None:
    """A cell must be {"nodes": [int], "edges": {column: list}} with flat JSON lists of the right kinds."""
    if not isinstance(data, dict) or not isinstance(data.get("edges"), dict):
        raise GenomeError(f"malformed genome: {kind} must be an object with nodes and edges")
    nodes = data.get("nodes")
    if not isinstance(nodes, list) or not all(_is_int(v) for v in nodes):
        raise GenomeError(f"malformed genome: {kind}.nodes must be a list of integers")
    lengths = set()
    for name, type_ in EDGE_COLUMNS.items():
        column = data["edges"].get(name)
        ok = isinstance(column, list) and all(
            _is_int(v) if type_ is int else isinstance(v, type_) for v in column
        )
        if not ok:
            raise GenomeError(f"malformed genome: {kind}.edges.{name} must be a list of {type_.__name__} values")
        lengths.add(len(column))
    if len(lengths) > 1:
        raise GenomeError(f"malformed genome: {kind}.edges columns have different lengths")

