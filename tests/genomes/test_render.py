"""render(): every output format is a valid file describing every node and connection of the genome."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import networkx as nx
import pydot
import pytest

from genomes.neat_genome import NeatGenome
from genomes.render import DISABLED, NEGATIVE, POSITIVE, edge_style, layout, render
from tests.neat_helpers import busy_config, grow

NODE = shutil.which("node")
TITLE = 'run: seed 7 <best> & "quoted"'


@pytest.fixture(scope="module", params=[True, False], ids=["feed_forward", "recurrent"])
def genome(request) -> NeatGenome:
    """A grown genome with hidden nodes and a disabled connection (and a self-loop when recurrent)."""
    for seed in range(100):
        genome = grow(busy_config(feed_forward=request.param), seed=seed, steps=40)
        graph = genome.to_graph()
        disabled = any(not d["enabled"] for _, _, d in graph.edges(data=True))
        if genome.hidden_keys and disabled and (request.param or nx.number_of_selfloops(graph) > 0):
            return genome
    raise AssertionError("no seed grew a suitable genome")


def _written(tmp_path: Path, genome: NeatGenome, name: str) -> Path:
    path = tmp_path / name
    render(genome, path, title=TITLE)
    assert [p.name for p in tmp_path.iterdir()] == [name], "atomic write left a temporary file behind"
    return path


def test_layout_columns(genome):
    graph = genome.to_graph()
    pos = layout(graph)
    assert set(pos) == set(graph.nodes)
    assert len(set(pos.values())) == len(pos), "two nodes share a position"
    for node, data in graph.nodes(data=True):
        x, y = pos[node]
        assert 0 < y < 1
        assert x == {"input": 0.0, "output": 1.0}.get(data["role"], x) and (data["role"] != "hidden" or 0 < x < 1)


def test_edge_style():
    assert edge_style({"enabled": True, "weight": 0.5})[0] == POSITIVE
    assert edge_style({"enabled": True, "weight": -0.5})[0] == NEGATIVE
    assert edge_style({"enabled": True, "weight": 100.0})[1] == edge_style({"enabled": True, "weight": -3.0})[1] == 1.0
    assert edge_style({"enabled": False, "weight": 100.0}) == (DISABLED, 0.15)


def test_svg_has_one_element_per_node_and_edge(tmp_path, genome):
    root = ET.parse(_written(tmp_path, genome, "g.svg")).getroot()
    ids = [e.get("id", "") for e in root.iter()]
    graph = genome.to_graph()
    assert sorted(i for i in ids if i.startswith("node-")) == sorted(f"node-{n}" for n in graph.nodes)
    assert sum(i.startswith("edge-") for i in ids) == graph.number_of_edges()


def test_png_signature(tmp_path, genome):
    assert _written(tmp_path, genome, "g.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _unquote(value: str) -> str:
    return value[1:-1].replace('\\"', '"') if value[:1] == value[-1:] == '"' else value


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # pyparsing deprecations inside pydot's parser
def test_dot_rereads_with_pydot(tmp_path, genome):
    (dot,) = pydot.graph_from_dot_file(str(_written(tmp_path, genome, "g.dot")))
    graph = genome.to_graph()
    nodes = {_unquote(n.get_name()): n for n in dot.get_nodes() if n.get_name() not in ("node", "edge", "graph")}
    assert set(nodes) == {str(n) for n in graph.nodes}
    assert len(dot.get_edges()) == graph.number_of_edges()
    assert _unquote(dot.get_attributes()["label"]) == TITLE
    for key, data in graph.nodes(data=True):
        assert nodes[str(key)].get("role") == data["role"]
    for edge in dot.get_edges():
        u, v = int(_unquote(edge.get_source())), int(_unquote(edge.get_destination()))
        data = graph.edges[u, v]
        assert float(_unquote(edge.get("gene_weight"))) == data["weight"]
        assert edge.get("enabled") == str(data["enabled"]).lower()
        assert int(edge.get("innovation")) == data["innovation"]


def test_graphml_rereads_with_networkx(tmp_path, genome):
    back = nx.read_graphml(_written(tmp_path, genome, "g.graphml"))
    graph = genome.to_graph()
    assert back.number_of_nodes() == graph.number_of_nodes() and back.number_of_edges() == graph.number_of_edges()
    assert back.graph["title"] == TITLE and back.graph["feed_forward"] == genome.feed_forward
    for node, data in graph.nodes(data=True):
        got = back.nodes[str(node)]
        assert {k: got[k] for k in data} == data
    for u, v, data in graph.edges(data=True):
        assert back.edges[str(u), str(v)] == data


def _page(tmp_path: Path, genome: NeatGenome) -> tuple[str, dict, str]:
    text = _written(tmp_path, genome, "g.html").read_text()
    data = json.loads(re.search(r'<script type="application/json" id="genome-data">(.*?)</script>', text, re.S)[1])
    (script,) = re.findall(r"<script>(.*?)</script>", text, re.S)
    return text, data, script


def test_html_embeds_the_graph_and_loads_nothing(tmp_path, genome):
    text, data, _ = _page(tmp_path, genome)
    graph = genome.to_graph()
    assert {n["id"] for n in data["nodes"]} == set(graph.nodes)
    assert len(data["edges"]) == graph.number_of_edges()
    node = next(n for n in data["nodes"] if n["role"] == "output")
    assert {"bias", "activation", "aggregation"} <= set(node["attrs"])
    assert {"weight", "innovation", "enabled"} <= set(data["edges"][0]["attrs"])
    assert "&lt;best&gt; &amp; &quot;quoted&quot;" in text and "<best>" not in text
    offline = text.replace("http://www.w3.org/2000/svg", "")
    assert "http://" not in offline and "https://" not in offline and "//cdn" not in offline
    assert not re.search(r"<script[^>]*\bsrc\s*=|<link\b|<img\b|<iframe\b|@import|url\((?!#)", text, re.I)


# A minimal DOM: enough for the page script to build its SVG and handle hover, click and drag.
DOM_STUB = r"""
function El(tag) {
  this.tag = tag; this.attrs = {}; this.children = []; this.listeners = {}; this.style = {}; this.textContent = "";
  var cls = new Set(); this.classList = {toggle: function (c, on) { if (on) { cls.add(c); } else { cls.delete(c); } },
    contains: function (c) { return cls.has(c); }};
}
El.prototype.setAttribute = function (k, v) { this.attrs[k] = String(v); };
El.prototype.appendChild = function (c) { this.children.push(c); return c; };
El.prototype.addEventListener = function (t, f) { (this.listeners[t] = this.listeners[t] || []).push(f); };
El.prototype.fire = function (t, ev) { (this.listeners[t] || []).forEach(function (f) { f(ev); }); };
El.prototype.setPointerCapture = El.prototype.releasePointerCapture = function () {};
El.prototype.createSVGPoint = function () {
  return {x: 0, y: 0, matrixTransform: function () { return {x: this.x, y: this.y}; }};
};
El.prototype.getScreenCTM = function () { return {inverse: function () { return null; }}; };
var all = [], byId = {canvas: new El("svg"), tip: new El("div"), "genome-data": new El("script")};
byId["genome-data"].textContent = require("fs").readFileSync(process.argv[2], "utf8");
global.document = {getElementById: function (id) { return byId[id]; },
  createElementNS: function (ns, tag) { var e = new El(tag); all.push(e); return e; }};
require(process.argv[3]);
var nodes = all.filter(function (e) { return e.tag === "g" && /^node /.test(e.attrs["class"] || ""); });
var edges = all.filter(function (e) { return e.tag === "g" && e.attrs["class"] === "edge"; });
var ev = {clientX: 0, clientY: 0, pointerId: 1, stopPropagation: function () {}};
nodes[0].fire("mouseenter", ev);
var tip = byId.tip.textContent;
nodes[0].fire("pointerdown", ev); nodes[0].fire("pointerup", ev);
var highlighted = edges.filter(function (e) {
  return e.classList.contains("incoming") || e.classList.contains("outgoing"); }).length;
var before = nodes[0].attrs.transform;
nodes[0].fire("pointerdown", ev);
nodes[0].fire("pointermove", {clientX: 40, clientY: 25});
nodes[0].fire("pointerup", ev);
var paths = all.filter(function (e) { return e.tag === "path" && e.attrs["class"] === "line"; });
console.log(JSON.stringify({nodes: nodes.length, edges: edges.length, tip: tip, highlighted: highlighted,
  moved: before !== nodes[0].attrs.transform,
  drawn: paths.every(function (p) { return /^M[-\d.]/.test(p.attrs.d); })}));
"""


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_html_script_parses_and_runs(tmp_path, genome):
    _, data, script = _page(tmp_path, genome)
    (tmp_path / "page.js").write_text(script)
    (tmp_path / "data.json").write_text(json.dumps(data))
    (tmp_path / "stub.js").write_text(DOM_STUB)
    subprocess.run([NODE, "--check", str(tmp_path / "page.js")], check=True, capture_output=True)
    run = subprocess.run([NODE, str(tmp_path / "stub.js"), str(tmp_path / "data.json"), str(tmp_path / "page.js")],
                         check=True, capture_output=True, text=True)
    result = json.loads(run.stdout)
    first = data["nodes"][0]
    incident = sum(first["id"] in (e["source"], e["target"]) for e in data["edges"])
    assert result["nodes"] == len(data["nodes"]) and result["edges"] == len(data["edges"])
    assert first["label"] in result["tip"] and "depth" in result["tip"]
    assert result["highlighted"] == incident and result["moved"] and result["drawn"]


def test_unknown_suffix(tmp_path, genome):
    message = "unsupported output format '.xyz' (use .svg, .png, .dot, .graphml or .html)"
    with pytest.raises(ValueError, match=re.escape(message)):
        render(genome, tmp_path / "g.xyz")
    assert not list(tmp_path.iterdir())
