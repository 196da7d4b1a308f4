"""The recurrent cell genome: architecture search over LSTM/GRU-like cells, speciated like NEAT (CoDeepNEAT style).

A cell is a DAG of op nodes computing h_t (node 0) and, for memory cells, c_t (node 1) from the inputs x_t (-1,
width `input_size`), h_{t-1} (-2) and c_{t-1} (-3, memory cells only); hidden nodes take keys from the innovation
tracker (2 and up). Every non-input node has an op and an ordered list of inputs: its incoming edge genes in
innovation order. Every value except x_t has width `hidden_size`; "linear*" ops map the concatenation of their
inputs to that width, so x_t may feed only them. Nodes that no longer reach an output stay in the genome (a later
rewire may revive them) but are left out of the module and summary parameter counts.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from genomes.base import GenomeError, MutationContext, SharedDocument
from genomes.params import param

if TYPE_CHECKING:
    import networkx as nx
    import torch

SCHEMA = "rnn-cell-genome"
SCHEMA_VERSION = 1
MAX_WIDTH = 1 << 16  # bound on sizes read from a file, so a hostile document cannot exhaust memory in to_module

LINEAR_OPS = ("linear", "linear_tanh", "linear_sigmoid", "linear_relu")
UNARY_OPS = ("tanh", "sigmoid", "relu", "identity", "one_minus")
BINARY_OPS = ("add", "mul")
OPS = LINEAR_OPS + UNARY_OPS + BINARY_OPS
INITIAL_CELLS = ("lstm", "gru", "rnn")

X, H_PREV, C_PREV = -1, -2, -3  # input keys
H_OUT, C_OUT = 0, 1  # output keys
FIRST_HIDDEN = 2  # hidden keys start here (the tracker is advanced past the fixed keys)

# The initial cells, node by node in evaluation order: (key, op, sources). Their keys are fixed, so every initial
# genome of a population is the same genome; `load_torch_cell` finds the gates by these keys.
LSTM_CELL = (
    (2, "linear_sigmoid", (X, H_PREV)),  # i
    (3, "linear_sigmoid", (X, H_PREV)),  # f
    (4, "linear_tanh", (X, H_PREV)),  # g
    (5, "linear_sigmoid", (X, H_PREV)),  # o
    (6, "mul", (3, C_PREV)),  # f * c
    (7, "mul", (2, 4)),  # i * g
    (C_OUT, "add", (6, 7)),  # c_t
    (8, "tanh", (C_OUT,)),
    (H_OUT, "mul", (5, 8)),  # h_t = o * tanh(c_t)
)
GRU_CELL = (
    (2, "linear_sigmoid", (X, H_PREV)),  # r
    (3, "linear_sigmoid", (X, H_PREV)),  # z
    (4, "linear", (X,)),  # W_in x + b_in
    (5, "linear", (H_PREV,)),  # W_hn h + b_hn
    (6, "mul", (2, 5)),
    (7, "add", (4, 6)),
    (8, "tanh", (7,)),  # n
    (9, "one_minus", (3,)),
    (10, "mul", (9, 8)),  # (1 - z) * n
    (11, "mul", (3, H_PREV)),  # z * h
    (H_OUT, "add", (10, 11)),
)
RNN_CELL = ((H_OUT, "linear_tanh", (X, H_PREV)),)
CELLS = {"lstm": LSTM_CELL, "gru": GRU_CELL, "rnn": RNN_CELL}


def op_class(op: str) -> str:
    """The arity class of an op: "linear" (any number >= 1 of inputs), "unary" (1) or "binary" (2)."""
    if op in LINEAR_OPS:
        return "linear"
    return "unary" if op in UNARY_OPS else "binary"


def arity_ok(op: str, n_inputs: int) -> bool:
    kind = op_class(op)
    return n_inputs >= 1 if kind == "linear" else n_inputs == (1 if kind == "unary" else 2)


@dataclass
class RnnCellConfig:
    input_size: int = param(1, ge=1, doc="features per step; set by the task")
    num_outputs: int = param(1, ge=1, doc="set by the task")
    hidden_size: int = param(32, ge=1, le=MAX_WIDTH, doc="width H of the initial cells")
    hidden_sizes: list[int] = param([16, 32, 48, 64], doc="widths the width mutation picks from")
    initial: str = param("lstm", choices=INITIAL_CELLS, doc="starting cell; rnn is h = tanh(W[x, h] + b)")
    ops: list[str] = param(list(OPS), each_in=OPS, doc="ops that mutations may choose")
    node_add_prob: float = param(0.2, ge=0.0, le=1.0, doc="split an edge s->t into s->n->t")
    op_mutate_prob: float = param(0.3, ge=0.0, le=1.0, doc="change a node's op within its arity class")
    rewire_prob: float = param(0.1, ge=0.0, le=1.0, doc="give an edge a new source")
    edge_add_prob: float = param(0.1, ge=0.0, le=1.0, doc="add an input to a linear node")
    width_mutate_prob: float = param(0.1, ge=0.0, le=1.0, doc="pick a new hidden size from hidden_sizes")
    compatibility_excess: float = param(1.0, ge=0.0)
    compatibility_disjoint: float = param(1.0, ge=0.0)
    compatibility_op: float = param(0.5, ge=0.0, doc="weight of the share of matching nodes whose op differs")
    compatibility_width: float = param(0.5, ge=0.0, doc="weight of |H1 - H2| / max(H1, H2)")

    def __post_init__(self) -> None:
        if any(not isinstance(w, int) or isinstance(w, bool) or not 1 <= w <= MAX_WIDTH for w in self.hidden_sizes):
            raise ValueError(f"hidden_sizes must hold integers between 1 and {MAX_WIDTH}")


class Edge(NamedTuple):
    innovation: int
    source: int
    target: int


class RnnCellGenome(SharedDocument):
    """An immutable cell genome: `ops` maps every non-input node key to its op, `edges` are innovation-sorted."""

    __slots__ = ("input_size", "num_outputs", "hidden_size", "memory", "ops", "edges", "_document")

    def __init__(
        self,
        input_size: int,
        num_outputs: int,
        hidden_size: int,
        memory: bool,
        ops: Mapping[int, str],
        edges: Iterable[Edge | tuple[int, int, int]],
    ) -> None:
        self.input_size = int(input_size)
        self.num_outputs = int(num_outputs)
        self.hidden_size = int(hidden_size)
        self.memory = bool(memory)
        self.ops: Mapping[int, str] = MappingProxyType({int(k): str(ops[k]) for k in sorted(ops)})
        self.edges: tuple[Edge, ...] = tuple(sorted(Edge(int(i), int(s), int(t)) for i, s, t in edges))
        self._document: dict[str, Any] | None = None

    # -- construction ---------------------------------------------------------------------------------------------
    @classmethod
    def initial(cls, config: RnnCellConfig, rng: np.random.Generator, ctx: MutationContext) -> RnnCellGenome:
        """The starting cell named by `config.initial` (an LSTM, a torch.nn.GRUCell-exact GRU or an Elman cell)."""
        cell = CELLS[config.initial]
        tracker = ctx.innovations
        tracker.next_node_key = max(tracker.next_node_key, FIRST_HIDDEN, *(k + 1 for k, _, _ in cell))
        ops = {key: op for key, op, _ in cell}
        edges = [Edge(tracker.connection(s, key), s, key) for key, _, sources in cell for s in sources]
        return cls(config.input_size, config.num_outputs, config.hidden_size, config.initial == "lstm", ops, edges)

    def replace(
        self,
        ops: Mapping[int, str] | None = None,
        edges: Iterable[Edge] | None = None,
        hidden_size: int | None = None,
    ) -> RnnCellGenome:
        """A new genome with some parts replaced (self is never modified)."""
        return RnnCellGenome(
            self.input_size,
            self.num_outputs,
            self.hidden_size if hidden_size is None else hidden_size,
            self.memory,
            self.ops if ops is None else ops,
            self.edges if edges is None else edges,
        )

    # -- structure ------------------------------------------------------------------------------------------------
    @property
    def input_keys(self) -> list[int]:
        return [X, H_PREV, C_PREV] if self.memory else [X, H_PREV]

    @property
    def output_keys(self) -> list[int]:
        return [H_OUT, C_OUT] if self.memory else [H_OUT]

    @property
    def hidden_keys(self) -> list[int]:
        return [k for k in self.ops if k >= FIRST_HIDDEN]

    def width(self, key: int) -> int:
        return self.input_size if key == X else self.hidden_size

    def inputs_of(self) -> dict[int, list[int]]:
        """Every non-input node's ordered input list (sources in innovation order)."""
        inputs: dict[int, list[int]] = {k: [] for k in self.ops}
        for edge in self.edges:
            inputs.setdefault(edge.target, []).append(edge.source)
        return inputs

    def topological_order(self) -> list[int]:
        """Non-input nodes in evaluation order (Kahn's algorithm, smallest key first); raises GenomeError on a cycle."""
        inputs = self.inputs_of()
        pending = {k: len(v) for k, v in inputs.items()}
        users: dict[int, list[int]] = {}
        for edge in self.edges:
            users.setdefault(edge.source, []).append(edge.target)
        for key in self.input_keys:
            for user in users.get(key, ()):
                pending[user] -= 1
        ready = [k for k, n in pending.items() if n == 0]
        heapq.heapify(ready)
        order: list[int] = []
        while ready:
            key = heapq.heappop(ready)
            order.append(key)
            for user in users.get(key, ()):
                pending[user] -= 1
                if pending[user] == 0:
                    heapq.heappush(ready, user)
        if len(order) != len(pending):
            raise GenomeError("cell graph contains a cycle")
        return order

    def live_nodes(self) -> set[int]:
        """Non-input nodes that reach an output (the ones the module computes)."""
        inputs = self.inputs_of()
        live, stack = set(self.output_keys), list(self.output_keys)
        while stack:
            for source in inputs.get(stack.pop(), ()):
                if source >= 0 and source not in live:
                    live.add(source)
                    stack.append(source)
        return live

    # -- genetic operators ----------------------------------------------------------------------------------------
    def mutate(self, rng: np.random.Generator, ctx: MutationContext) -> RnnCellGenome:
        from genomes.rnn_mutation import mutate

        return mutate(self, rng, ctx)

    def crossover(
        self, other: RnnCellGenome, rng: np.random.Generator, ctx: MutationContext, equal: bool = False
    ) -> RnnCellGenome:
        from genomes.rnn_mutation import crossover

        return crossover(self, other, rng, equal=equal)

    def distance(self, other: RnnCellGenome, config: RnnCellConfig) -> float:
        from genomes.rnn_mutation import distance

        return distance(self, other, config)

    # -- views ----------------------------------------------------------------------------------------------------
    def to_module(self, dtype: torch.dtype | None = None) -> torch.nn.Module:
        """The whole network: the cell unrolled over (batch, steps, features) from a zero state, then a Linear head
        from the final h_t to num_outputs."""
        from genomes.rnn_module import network_module

        return network_module(self, dtype=dtype)

    def to_graph(self) -> nx.DiGraph:
        """A DiGraph for the renderer; edges into nodes left out of the module (dead nodes) are marked disabled."""
        import networkx as nx

        from genomes.graph import node_depths

        graph = nx.DiGraph(schema=SCHEMA, hidden_size=self.hidden_size, memory=self.memory)
        labels = {X: "x_t", H_PREV: "h_t-1", C_PREV: "c_t-1"}
        for key in self.input_keys:
            graph.add_node(key, role="input", label=labels[key], op="")
        live = self.live_nodes()
        for key, op in self.ops.items():
            role = "output" if key < FIRST_HIDDEN else "hidden"
            label = f"{('h_t', 'c_t')[key]}: {op}" if role == "output" else op
            graph.add_node(key, role=role, label=label, op=op, live=key in live)
        for edge in self.edges:
            graph.add_edge(edge.source, edge.target, enabled=edge.target in live, weight=1.0,
                           innovation=edge.innovation, op="")
        for key, depth in node_depths(graph).items():
            graph.nodes[key]["depth"] = depth
        return graph

    def summary(self) -> dict[str, Any]:
        """Short figures for `evolve inspect`: node/edge counts, width and the module's trainable parameters."""
        live = self.live_nodes()
        inputs = self.inputs_of()
        h = self.hidden_size
        cell = sum(h * (sum(self.width(s) for s in inputs[k]) + 1) for k in live if op_class(self.ops[k]) == "linear")
        return {
            "nodes": len(self.ops),
            "live_nodes": len(live),
            "edges": len(self.edges),
            "hidden_size": h,
            "memory": self.memory,
            "params": cell + (h + 1) * self.num_outputs,
        }

    # -- serialization --------------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "version": SCHEMA_VERSION,
            "input_size": self.input_size,
            "num_outputs": self.num_outputs,
            "hidden_size": self.hidden_size,
            "memory": self.memory,
            "nodes": {"key": list(self.ops), "op": list(self.ops.values())},
            "edges": {
                "innovation": [e.innovation for e in self.edges],
                "source": [e.source for e in self.edges],
                "target": [e.target for e in self.edges],
            },
        }

    @classmethod
    def from_dict(cls, data: Any, validate: bool = True) -> RnnCellGenome:
        """Build a genome from its JSON document; raises GenomeError naming the first problem."""
        if not isinstance(data, dict):
            raise GenomeError("genome document must be a JSON object")
        if data.get("schema") != SCHEMA:
            raise GenomeError(f"not an RNN cell genome (schema {data.get('schema')!r}, expected {SCHEMA!r})")
        if data.get("version") != SCHEMA_VERSION:
            raise GenomeError(f"unsupported genome version {data.get('version')!r} (this build reads {SCHEMA_VERSION})")
        for name in ("input_size", "num_outputs", "hidden_size"):
            value = data.get(name)
            if not (isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_WIDTH):
                raise GenomeError(f"malformed genome: {name} must be an integer between 1 and {MAX_WIDTH}")
        if not isinstance(data.get("memory"), bool):
            raise GenomeError("malformed genome: memory must be a bool")
        keys, ops = _columns(data, "nodes", {"key": int, "op": str}).values()
        edge_kinds = {"innovation": int, "source": int, "target": int}
        innovations, sources, targets = _columns(data, "edges", edge_kinds).values()
        if len(set(keys)) != len(keys):
            raise GenomeError("malformed genome: duplicate node key")
        genome = cls(data["input_size"], data["num_outputs"], data["hidden_size"], data["memory"],
                     dict(zip(keys, ops)), zip(innovations, sources, targets))
        if validate:
            genome.validate()
        return genome

    def validate(self) -> None:
        """Check every structural invariant (keys, ops, endpoints, duplicates, arity, x into linear only, acyclic)."""
        if not all(1 <= v <= MAX_WIDTH for v in (self.input_size, self.num_outputs, self.hidden_size)):
            raise GenomeError(f"input_size, num_outputs and hidden_size must be between 1 and {MAX_WIDTH}")
        keys = set(self.ops)
        if any(k < 0 for k in keys):
            raise GenomeError("node keys must be non-negative (negative keys are the inputs)")
        if H_OUT not in keys or (C_OUT in keys) != self.memory:
            raise GenomeError("output h_t (key 0) must be present, and c_t (key 1) exactly when memory is true")
        if bad := sorted(set(self.ops.values()) - set(OPS)):
            raise GenomeError(f"unknown op {bad[0]!r}")
        innovations = [e.innovation for e in self.edges]
        if len(set(innovations)) != len(innovations) or any(i < 0 for i in innovations):
            raise GenomeError("edge innovations must be unique non-negative integers")
        if len({(e.source, e.target) for e in self.edges}) != len(self.edges):
            raise GenomeError("duplicate edge between the same pair of nodes")
        sources = keys | set(self.input_keys)
        for edge in self.edges:
            if edge.source not in sources:
                raise GenomeError(f"edge {edge.innovation} starts at node {edge.source}, which does not exist")
            if edge.target not in keys:
                raise GenomeError(f"edge {edge.innovation} ends at node {edge.target}, which is not an op node")
            if edge.source == X and op_class(self.ops[edge.target]) != "linear":
                op = self.ops[edge.target]
                raise GenomeError(f"x_t feeds node {edge.target} ({op}); it may feed only linear ops")
        for key, inputs in self.inputs_of().items():
            if not arity_ok(self.ops[key], len(inputs)):
                raise GenomeError(f"node {key} ({self.ops[key]}) has {len(inputs)} inputs, which its op does not take")
        self.topological_order()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RnnCellGenome) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"RnnCellGenome(hidden_size={self.hidden_size}, memory={self.memory}, nodes={len(self.ops)}, "
            f"edges={len(self.edges)})"
        )


def _columns(data: dict[str, Any], where: str, kinds: dict[str, type]) -> dict[str, list[Any]]:
    """The gene columns of table `where`: flat lists of one kind (ints stay ints, no bools), of equal length."""
    table = data.get(where)
    if not isinstance(table, dict):
        raise GenomeError(f"malformed genome: {where} must be an object of gene columns")
    out = {}
    for name, kind in kinds.items():
        column = table.get(name)
        if not isinstance(column, list):
            raise GenomeError(f"malformed genome: {where}.{name} must be a list")
        if not all(isinstance(v, kind) and not isinstance(v, bool) for v in column):
            raise GenomeError(f"malformed genome: {where}.{name} must hold only {kind.__name__} values")
        out[name] = column
    if len({len(c) for c in out.values()}) > 1:
        raise GenomeError(f"malformed genome: {where} columns have different lengths")
    return out
