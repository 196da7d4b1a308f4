"""Drawings and graph files of a NEAT genome: `render(genome, path)` picks the format from the file suffix.

.svg/.png are matplotlib figures (inputs left, outputs right, hidden nodes in columns by depth; edge width by
|weight|, blue positive, red negative, disabled dashed grey, recurrent edges and self-loops as arcs); .dot and
.graphml carry every gene attribute for Graphviz, Gephi or yEd; .html is a self-contained interactive page
(`genomes.render_html`). All of them share `layout` and are written atomically.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import networkx as nx

from genomes.export import atomic_write

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.path import Path as MplPath

    from genomes.neat_genome import NeatGenome

FORMATS = (".svg", ".png", ".dot", ".graphml", ".html")
ROLE_COLORS = {"input": "#b7e4c7", "hidden": "#e9ecef", "output": "#ffd166"}
POSITIVE, NEGATIVE, DISABLED = "#1f77b4", "#d62728", "#b0b0b0"
MAX_DRAWN_NODES = {".svg": 500, ".png": 500, ".html": 5_000}  # pictures of more nodes take minutes and are unreadable
WEIGHT_CAP = 3.0  # |weight| at and beyond which an edge is drawn at full width


def render(genome: NeatGenome, path: Path, title: str | None = None) -> None:
    """Write a picture or graph file of `genome` to `path`; the suffix picks the format (see FORMATS)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"unsupported output format '{path.suffix}' (use .svg, .png, .dot, .graphml or .html)")
    graph = genome.to_graph()
    if (nodes := graph.number_of_nodes()) > (cap := MAX_DRAWN_NODES.get(suffix, nodes)):
        raise ValueError(f"{nodes:,} nodes are too many to draw as {suffix} (at most {cap:,}); write .dot or "
                         f".graphml instead")
    positions = layout(graph)
    if suffix in (".svg", ".png"):
        figure = _figure(graph, positions, title)
        meta = {"Date": None} if suffix == ".svg" else {}  # no timestamp: the same genome gives the same file
        atomic_write(path, lambda f: figure.savefig(f, format=suffix[1:], dpi=150, bbox_inches="tight", metadata=meta))
    elif suffix == ".dot":
        atomic_write(path, lambda f: f.write(nx.nx_pydot.to_pydot(_dot_graph(graph, title)).to_string().encode()))
    elif suffix == ".graphml":
        atomic_write(path, lambda f: nx.write_graphml(_graphml_graph(graph, positions, title), f))
    else:
        from genomes.render_html import html_document

        text = html_document(graph, positions, title)
        atomic_write(path, lambda f: f.write(text.encode()))


def layout(graph: nx.DiGraph) -> dict[int, tuple[float, float]]:
    """Node positions in the unit square, y downwards: x is the node's depth column (inputs 0, outputs 1), and
    the nodes of a column are spread evenly, inputs and outputs by index, hidden nodes by the mean height of their
    already placed predecessors (fewer crossings)."""
    columns: dict[int, list[int]] = defaultdict(list)
    for node, depth in graph.nodes(data="depth"):
        columns[depth].append(node)
    last = max(columns, default=0) or 1
    pos: dict[int, tuple[float, float]] = {}
    for depth in sorted(columns):
        nodes = columns[depth]

        def order(n: int) -> tuple[float, int]:
            role = graph.nodes[n]["role"]
            if role == "input":
                return (0.0, -n)
            placed = [pos[p][1] for p in graph.predecessors(n) if p in pos]
            return (sum(placed) / len(placed) if placed and role == "hidden" else 0.0, n)

        for i, node in enumerate(sorted(nodes, key=order)):
            pos[node] = (depth / last, (i + 0.5) / len(nodes))
    return pos


def edge_style(data: dict[str, Any]) -> tuple[str, float]:
    """Colour and relative width (0.15..1) of an edge: by sign and |weight|, grey and thin when disabled."""
    if not data["enabled"]:
        return DISABLED, 0.15
    width = 0.15 + 0.85 * min(abs(data["weight"]), WEIGHT_CAP) / WEIGHT_CAP
    return (POSITIVE if data["weight"] >= 0 else NEGATIVE), width


def grid_size(positions: dict[int, tuple[float, float]]) -> tuple[int, int]:
    """Number of columns and the most nodes in one column of a layout."""
    counts: dict[float, int] = defaultdict(int)
    for x, _ in positions.values():
        counts[x] += 1
    return len(counts), max(counts.values(), default=1)


def is_back_edge(positions: dict[int, tuple[float, float]], u: int, v: int) -> bool:
    """Whether u -> v does not point rightwards (a recurrent edge, a self-loop or an edge within one column)."""
    return positions[u][0] >= positions[v][0]


# -- matplotlib ---------------------------------------------------------------------------------------------------
def _figure(graph: nx.DiGraph, positions: dict[int, tuple[float, float]], title: str | None) -> Figure:
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Circle, FancyArrowPatch

    n_columns, tallest = grid_size(positions)
    width, height = 2.5 * max(n_columns - 1, 1), 1.1 * max(tallest, 2)
    xy = {n: (x * width, (1 - y) * height) for n, (x, y) in positions.items()}
    radius = 0.3
    figure = Figure(figsize=(min(2 + 0.9 * width, 40), min(1.8 + 0.9 * height, 40)))
    ax: Axes = figure.add_subplot()
    for node, data in graph.nodes(data=True):
        ax.add_patch(Circle(xy[node], radius, facecolor=ROLE_COLORS[data["role"]], edgecolor="#333333",
                            linewidth=0.8, zorder=3, gid=f"node-{node}"))
        ax.text(*xy[node], data["label"], ha="center", va="center", fontsize=7, zorder=4)
    for u, v, data in graph.edges(data=True):
        color, rel = edge_style(data)
        style = dict(color=color, linewidth=0.4 + 2.6 * rel, linestyle="--" if not data["enabled"] else "-",
                     arrowstyle="-|>", mutation_scale=8, zorder=2 if data["enabled"] else 1, gid=f"edge-{u}-{v}")
        path = _edge_path(xy[u], xy[v], radius, curved=is_back_edge(positions, u, v), loop=u == v)
        ax.add_patch(FancyArrowPatch(path=path, **style))
        if data.get("op"):  # cell genomes carry their operation on the edge
            middle = path.interpolated(20).vertices[7]  # a third of the way: crossing edges keep apart
            ax.text(*middle, data["op"], ha="center", va="center", fontsize=6, zorder=5,
                    bbox=dict(boxstyle="round,pad=0.15", facecolor="white", edgecolor="none", alpha=0.85))
    ax.autoscale_view()  # the patches' extents, arcs and loops included
    ax.margins(0.03)
    ax.set_aspect("equal")
    ax.axis("off")
    weighted = not any(data.get("op") for _, _, data in graph.edges(data=True))
    handles = [Line2D([], [], color=POSITIVE, label="positive weight" if weighted else "operation"),
               *([Line2D([], [], color=NEGATIVE, label="negative weight")] if weighted else []),
               Line2D([], [], color=DISABLED, linestyle="--", label="disabled")]
    handles += [Line2D([], [], marker="o", linestyle="", markerfacecolor=c, markeredgecolor="#333333", label=role)
                for role, c in ROLE_COLORS.items()]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=3, fontsize=7, frameon=False)
    if title:
        ax.set_title(title, fontsize=9)
    return figure


def _edge_path(a: tuple[float, float], b: tuple[float, float], radius: float, curved: bool, loop: bool) -> MplPath:
    """The matplotlib path of an edge between node circles centred at a and b: a loop above the node for a
    self-loop, a quadratic arc for a back edge, otherwise a straight line; ends on the circles' rims."""
    from matplotlib.path import Path as MplPath

    (xa, ya), (xb, yb) = a, b
    if loop:
        r = radius
        points = [(xa - 0.5 * r, ya + 0.85 * r), (xa - 1.6 * r, ya + 3 * r), (xa + 1.6 * r, ya + 3 * r),
                  (xa + 0.5 * r, ya + 0.85 * r)]
        return MplPath(points, [MplPath.MOVETO, MplPath.CURVE4, MplPath.CURVE4, MplPath.CURVE4])
    dx, dy = xb - xa, yb - ya
    bend = min(0.3, 1.5 / max((dx * dx + dy * dy) ** 0.5, 1e-9))  # long arcs bulge at most 1.5 units
    control = ((xa + xb) / 2 + bend * dy, (ya + yb) / 2 - bend * dx) if curved else b

    def rim(p: tuple[float, float], q: tuple[float, float]) -> tuple[float, float]:
        ex, ey = q[0] - p[0], q[1] - p[1]
        norm = (ex * ex + ey * ey) ** 0.5 or 1.0
        return p[0] + radius * ex / norm, p[1] + radius * ey / norm

    if not curved:
        return MplPath([rim(a, b), rim(b, a)], [MplPath.MOVETO, MplPath.LINETO])
    return MplPath([rim(a, control), control, rim(b, control)], [MplPath.MOVETO, MplPath.CURVE3, MplPath.CURVE3])


# -- graph files --------------------------------------------------------------------------------------------------
_DOT_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|-?(\.[0-9]+|[0-9]+(\.[0-9]*)?)")


def _dot_value(value: Any) -> str:
    """A DOT attribute value: bare when DOT allows it, otherwise double-quoted with escapes (colons, spaces, ...)."""
    text = str(value).lower() if isinstance(value, bool) else str(value)
    if _DOT_ID.fullmatch(text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _dot_graph(graph: nx.DiGraph, title: str | None) -> nx.DiGraph:
    """A copy for the pydot writer: string attributes, Graphviz styling, and the genome weight as `gene_weight`
    (Graphviz reads `weight` as a non-negative integer layout hint)."""
    attrs = {"rankdir": "LR", **graph.graph, **({"label": title, "labelloc": "t"} if title else {})}
    out = nx.DiGraph()
    out.graph["graph"] = {k: _dot_value(v) for k, v in attrs.items()}
    out.graph["node"] = {"style": "filled", "fontsize": "10"}
    for node, data in graph.nodes(data=True):
        extra = {"shape": "box" if data["role"] == "input" else "circle", "fillcolor": ROLE_COLORS[data["role"]]}
        out.add_node(node, **{k: _dot_value(v) for k, v in {**data, **extra}.items()})
    for u, v, data in graph.edges(data=True):
        color, rel = edge_style(data)
        extra = {"color": color, "penwidth": round(0.5 + 2.5 * rel, 3),
                 "style": "solid" if data["enabled"] else "dashed",
                 "tooltip": f"w={data['weight']:.4g} innovation={data['innovation']}"}
        attrs = {("gene_weight" if k == "weight" else k): val for k, val in data.items()}
        out.add_edge(u, v, **{k: _dot_value(val) for k, val in {**attrs, **extra}.items()})
    return out


def _graphml_graph(graph: nx.DiGraph, positions: dict[int, tuple[float, float]], title: str | None) -> nx.DiGraph:
    """A copy with plain Python attribute values (no numpy scalars, no None) and the layout as x/y."""

    def plain(attrs: dict[str, Any]) -> dict[str, Any]:
        return {k: v.item() if hasattr(v, "item") else v for k, v in attrs.items() if v is not None}

    out = nx.DiGraph(**plain({**graph.graph, "title": title}))
    for node, data in graph.nodes(data=True):
        x, y = positions[node]
        out.add_node(node, **plain({**data, "x": float(x), "y": float(y)}))
    out.add_edges_from((u, v, plain(data)) for u, v, data in graph.edges(data=True))
    return out
