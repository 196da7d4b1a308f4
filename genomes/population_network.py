"""Many NEAT phenotypes evaluated together: a population packed into padded numpy arrays.

Each genome's evaluated nodes get slots in topological order (feed-forward) or in key order (recurrent); weights
go into one (population, columns, slots) array whose columns are the inputs followed by the node slots. A
feed-forward pass computes slot j of every genome with one batched product, so the cost grows with the deepest
genome's node count, not with the population size; a recurrent step is a single batched product over all slots.
Padding slots have no outgoing weights and never reach an output. Genomes with non-sum aggregations are not
packable (`packable` says so); callers fall back to per-genome phenotypes for them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from genomes.activations import NUMPY_ACTIVATIONS
from genomes.genes import NodeGenes
from genomes.neat_genome import NeatGenome
from genomes.network_plan import feed_forward_order

_ACTIVATION_IDS = {name: i for i, name in enumerate(NUMPY_ACTIVATIONS)}
_ACTIVATION_FNS = list(NUMPY_ACTIVATIONS.values())


def packable(genomes: Sequence[NeatGenome]) -> bool:
    """Whether the genomes share a shape and mode and use only sum aggregation."""
    if not genomes:
        return False
    first = genomes[0]
    same_shape = all(
        g.num_inputs == first.num_inputs and g.num_outputs == first.num_outputs and g.feed_forward == first.feed_forward
        for g in genomes
    )
    return same_shape and bool(np.all(np.concatenate([g.nodes.aggregation for g in genomes]) == "sum"))


class PopulationNetwork:
    def __init__(self, genomes: Sequence[NeatGenome]) -> None:
        if not packable(genomes):
            raise ValueError("genomes must share inputs, outputs and mode, and use only sum aggregation")
        first = genomes[0]
        self.num_inputs, self.num_outputs = first.num_inputs, first.num_outputs
        self.recurrent = not first.feed_forward
        orders = [self._slot_order(g) for g in genomes]
        pop, slots = len(genomes), max(max(len(o) for o in orders), 1)
        n_in = self.num_inputs
        self.slots = slots
        # Gather every genome's slots and enabled connections into flat index lists, then scatter them at once.
        node_p, node_slot, edge_p, edge_col, edge_slot, edge_w, outputs = [], [], [], [], [], [], []
        for p, (genome, order) in enumerate(zip(genomes, orders)):
            slot = dict(zip(order, range(len(order))))
            node_p += [p] * len(order)
            node_slot += range(len(order))
            c = genome.connections
            on = c.enabled
            for src, tgt, w in zip(c.source[on].tolist(), c.target[on].tolist(), c.weight[on].tolist()):
                j = slot.get(tgt)
                if j is None:
                    continue  # feeds no output
                edge_p.append(p)
                edge_col.append(-src - 1 if src < 0 else slot[src] + n_in)  # input -(i+1) is column i
                edge_slot.append(j)
                edge_w.append(w)
            outputs.append([slot[k] for k in genome.output_keys])
        self.outputs = np.array(outputs, dtype=np.int64)
        self.weight = np.zeros((pop, n_in + slots, slots))
        index = tuple(np.array(a, dtype=np.int64) for a in (edge_p, edge_col, edge_slot))
        np.add.at(self.weight, index, np.array(edge_w, dtype=np.float64))
        all_nodes = NodeGenes.concat(*(g.nodes for g in genomes))
        offsets = np.cumsum([0] + [len(g.nodes) for g in genomes[:-1]])
        node_p_arr = np.array(node_p, dtype=np.int64)
        rows = np.concatenate(
            [np.searchsorted(g.nodes.key, np.array(o, dtype=np.int64)) for g, o in zip(genomes, orders)]
        ).astype(np.int64) + offsets[node_p_arr]
        node_slot_arr = np.array(node_slot, dtype=np.int64)
        self.bias = np.zeros((pop, slots))
        self.response = np.ones((pop, slots))
        self.activation = np.full((pop, slots), _ACTIVATION_IDS["identity"], dtype=np.int64)
        self.bias[node_p_arr, node_slot_arr] = all_nodes.bias[rows]
        self.response[node_p_arr, node_slot_arr] = all_nodes.response[rows]
        names, inverse = np.unique(all_nodes.activation[rows], return_inverse=True)
        self.activation[node_p_arr, node_slot_arr] = np.array([_ACTIVATION_IDS[n] for n in names.tolist()])[inverse]
        self._groups = [
            [(fn_id, np.flatnonzero(self.activation[:, j] == fn_id)) for fn_id in np.unique(self.activation[:, j])]
            for j in range(slots)
        ]
        self.state: np.ndarray | None = None

    def _slot_order(self, genome: NeatGenome) -> list[int]:
        if genome.feed_forward:
            return [k for layer in feed_forward_order(genome) for k in layer]
        return genome.nodes.key.tolist()

    def reset(self) -> None:
        self.state = None

    def activate(self, inputs: np.ndarray) -> np.ndarray:
        """inputs (batch, n_in), shared by all genomes, or (population, batch, n_in); returns (population, batch,
        n_out). Recurrent populations advance one time step per call."""
        pop = self.weight.shape[0]
        x = np.asarray(inputs, dtype=np.float64)
        x = np.broadcast_to(x, (pop, *x.shape)) if x.ndim == 2 else x
        batch = x.shape[1]
        n_in = self.num_inputs
        if self.recurrent:
            if self.state is None or self.state.shape[1] != batch:
                self.state = np.zeros((pop, batch, self.slots))
            pre = np.concatenate([x, self.state], axis=2) @ self.weight
            values = self.bias[:, None, :] + self.response[:, None, :] * pre
            self.state = np.empty_like(values)
            for j in range(self.slots):
                self._activate_slot(values, j, self.state)
            nodes = self.state
        else:
            full = np.zeros((pop, batch, n_in + self.slots))
            full[:, :, :n_in] = x
            for j in range(self.slots):
                pre = np.einsum("pbc,pc->pb", full[:, :, : n_in + j], self.weight[:, : n_in + j, j])
                full[:, :, n_in + j] = self.bias[:, j, None] + self.response[:, j, None] * pre
                self._activate_slot(full[:, :, n_in:], j, full[:, :, n_in:])
            nodes = full[:, :, n_in:]
        return np.take_along_axis(nodes, self.outputs[:, None, :], axis=2)

    def _activate_slot(self, values: np.ndarray, j: int, out: np.ndarray) -> None:
        for fn_id, members in self._groups[j]:
            out[members, :, j] = _ACTIVATION_FNS[fn_id](values[members, :, j])
