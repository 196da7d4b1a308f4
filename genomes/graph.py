"""Graph views of a NEAT genome: the networkx DiGraph used by inspection, depth and summary figures (the
reachability checks that breeding runs on every offspring are in `genomes.reachability`, without networkx)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import networkx as nx

if TYPE_CHECKING:
    from genomes.neat_genome import NeatGenome


def genome_graph(genome: NeatGenome) -> nx.DiGraph:
    """A DiGraph of every node and connection gene, with roles, parameters, enabled flags and layout depth."""
    graph = nx.DiGraph(num_inputs=genome.num_inputs, num_outputs=genome.num_outputs, feed_forward=genome.feed_forward)
    for key in genome.input_keys:
        graph.add_node(key, role="input", label=f"in{-key - 1}")
    nodes = genome.nodes
    for i, key in enumerate(nodes.key.tolist()):
        role = "output" if key < genome.num_outputs else "hidden"
        graph.add_node(
            key,
            role=role,
            label=f"out{key}" if role == "output" else f"h{key}",
            bias=float(nodes.bias[i]),
            response=float(nodes.response[i]),
            activation=str(nodes.activation[i]),
            aggregation=str(nodes.aggregation[i]),
        )
    c = genome.connections
    for i in range(len(c)):
        graph.add_edge(
            int(c.source[i]),
            int(c.target[i]),
            weight=float(c.weight[i]),
            enabled=bool(c.enabled[i]),
            innovation=int(c.innovation[i]),
        )
    for key, depth in node_depths(graph).items():
        graph.nodes[key]["depth"] = depth
    return graph


def node_depths(graph: nx.DiGraph) -> dict[int, int]:
    """Layout column of every node: inputs 0, hidden nodes by longest enabled path from the inputs (shortest path
    when the enabled graph has cycles), outputs one past the deepest hidden node."""
    enabled = nx.DiGraph()
    enabled.add_nodes_from(graph.nodes)
    enabled.add_edges_from((u, v) for u, v, d in graph.edges(data=True) if d["enabled"] and u != v)
    inputs = [n for n, d in graph.nodes(data=True) if d["role"] == "input"]
    depth: dict[int, int] = {n: 0 for n in inputs}
    if nx.is_directed_acyclic_graph(enabled):
        for node in nx.topological_sort(enabled):
            if node not in depth:
                depth[node] = max((depth[p] + 1 for p in enabled.predecessors(node)), default=1)
    else:
        reach = nx.multi_source_dijkstra_path_length(enabled, inputs) if inputs else {}
        for node in enabled.nodes:
            depth.setdefault(node, int(reach.get(node, 1)))
    hidden = [n for n, d in graph.nodes(data=True) if d["role"] == "hidden"]
    out_depth = max([depth[n] for n in hidden] + [0]) + 1
    for node, data in graph.nodes(data=True):
        if data["role"] == "output":
            depth[node] = out_depth
        elif data["role"] == "hidden":
            depth[node] = max(1, min(depth[node], out_depth - 1))
    return depth


def summary(genome: NeatGenome) -> dict[str, Any]:
    """Short figures for `evolve inspect`: node counts, enabled connections, depth and trainable parameters."""
    graph = genome_graph(genome)
    enabled = genome.num_enabled()
    return {
        "inputs": genome.num_inputs,
        "outputs": genome.num_outputs,
        "hidden": len(genome.hidden_keys),
        "nodes": graph.number_of_nodes(),
        "connections": len(genome.connections),
        "enabled_connections": enabled,
        "depth": max((d["depth"] for _, d in graph.nodes(data=True)), default=0),
        "parameters": enabled + len(genome.nodes),
        "feed_forward": genome.feed_forward,
    }
