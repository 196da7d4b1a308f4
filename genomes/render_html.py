"""The self-contained interactive HTML view of a genome graph: one page, inline CSS and vanilla JavaScript drawing
an inline SVG from embedded JSON. Hover shows a node's or edge's genes, a click highlights a node's incoming and
outgoing edges, nodes can be dragged. It loads nothing from the network."""

from __future__ import annotations

import html
import json
from typing import Any

import networkx as nx

from genomes.render import DISABLED, NEGATIVE, POSITIVE, ROLE_COLORS, edge_style, grid_size, is_back_edge

COLUMN_GAP, ROW_GAP, MARGIN = 170, 56, 80


def html_document(graph: nx.DiGraph, positions: dict[int, tuple[float, float]], title: str | None = None) -> str:
    """The page for `graph` with nodes placed at `positions` (unit square, from `genomes.render.layout`)."""
    n_columns, tallest = grid_size(positions)
    width = 2 * MARGIN + COLUMN_GAP * max(n_columns - 1, 1)
    height = 2 * MARGIN + ROW_GAP * max(tallest, 2)
    nodes = []
    for node, data in graph.nodes(data=True):
        x, y = positions[node]
        attrs = {k: data[k] for k in ("bias", "response", "activation", "aggregation", "depth") if k in data}
        nodes.append({"id": node, "label": data["label"], "role": data["role"], "attrs": {"key": node, **attrs},
                      "x": round(MARGIN + x * (width - 2 * MARGIN), 2),
                      "y": round(MARGIN + y * (height - 2 * MARGIN), 2)})
    edges = []
    for u, v, data in graph.edges(data=True):
        color, rel = edge_style(data)
        edges.append({"source": u, "target": v, "color": color, "width": round(0.6 + 3.4 * rel, 3),
                      "curved": is_back_edge(positions, u, v), "enabled": data["enabled"],
                      "attrs": {k: data[k] for k in ("weight", "enabled", "innovation")}})
    payload: dict[str, Any] = {"width": width, "height": height, "nodes": nodes, "edges": edges, "roles": ROLE_COLORS}
    # Inside <script> only "</" could end the element early; escaping <, > and & keeps the JSON inert.
    data_json = json.dumps(payload, allow_nan=False)
    data_json = data_json.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    heading = html.escape(title or "NEAT genome")
    legend = "".join(
        f'<span><i style="background:{c}"></i>{role}</span>' for role, c in ROLE_COLORS.items()
    ) + (f'<span><b style="border-color:{POSITIVE}"></b>positive</span><span><b style="border-color:{NEGATIVE}"></b>'
         f'negative</span><span><b style="border-color:{DISABLED};border-top-style:dashed"></b>disabled</span>')
    return (PAGE.replace("%TITLE%", heading).replace("%LEGEND%", legend).replace("%DATA%", data_json)
            .replace("%SCRIPT%", SCRIPT))


PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>%TITLE%</title>
<style>
body { font: 13px system-ui, sans-serif; margin: 12px; color: #222; }
h1 { font-size: 15px; margin: 0 0 6px; }
#legend span { margin-right: 14px; white-space: nowrap; }
#legend i { display: inline-block; width: 11px; height: 11px; border-radius: 50%; border: 1px solid #333;
  margin-right: 4px; vertical-align: -1px; }
#legend b { display: inline-block; width: 22px; border-top: 3px solid; margin-right: 4px; vertical-align: 3px; }
#canvas { border: 1px solid #ddd; background: #fff; user-select: none; overflow: visible; max-width: 100%;
  height: auto; }
.node circle { stroke: #333; stroke-width: 1; cursor: grab; }
.node text { font-size: 11px; text-anchor: middle; dominant-baseline: central; pointer-events: none; }
.edge path.hit { stroke: transparent; stroke-width: 10; fill: none; }
.edge path.line { fill: none; }
.dim { opacity: 0.12; }
.incoming path.line { stroke: #ff8c00 !important; }
.outgoing path.line { stroke: #2ca02c !important; }
.selected circle { stroke: #ff8c00; stroke-width: 3; }
#tip { position: fixed; pointer-events: none; background: rgba(30, 30, 30, 0.9); color: #fff; padding: 5px 8px;
  border-radius: 4px; font: 12px ui-monospace, monospace; white-space: pre; display: none; }
</style>
</head>
<body>
<h1>%TITLE%</h1>
<div id="legend">%LEGEND% <span>hover for genes, click a node for its edges, drag to move</span></div>
<svg id="canvas"></svg>
<div id="tip"></div>
<script type="application/json" id="genome-data">%DATA%</script>
<script>
%SCRIPT%
</script>
</body>
</html>
"""

SCRIPT = r"""(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var R = 16;
  var data = JSON.parse(document.getElementById("genome-data").textContent);
  var svg = document.getElementById("canvas");
  var tip = document.getElementById("tip");
  var byId = {};
  var selected = null;
  svg.setAttribute("width", data.width);
  svg.setAttribute("height", data.height);
  svg.setAttribute("viewBox", "0 0 " + data.width + " " + data.height);

  function el(name, attrs, parent) {
    var e = document.createElementNS(NS, name);
    Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (parent) { parent.appendChild(e); }
    return e;
  }
  function fmt(v) { return typeof v === "number" && !Number.isInteger(v) ? v.toPrecision(5) : String(v); }
  function describe(title, attrs) {
    return title + "\n" + Object.keys(attrs).map(function (k) { return k + ": " + fmt(attrs[k]); }).join("\n");
  }
  function hover(target, text) {
    target.addEventListener("mouseenter", function () { tip.textContent = text(); tip.style.display = "block"; });
    target.addEventListener("mousemove", function (ev) {
      tip.style.left = ev.clientX + 14 + "px"; tip.style.top = ev.clientY + 14 + "px";
    });
    target.addEventListener("mouseleave", function () { tip.style.display = "none"; });
  }

  var defs = el("defs", {}, svg);
  var markers = {};
  data.edges.forEach(function (e) {
    if (markers[e.color]) { return; }
    var id = "arrow" + Object.keys(markers).length;
    var m = el("marker", {id: id, viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 8, markerHeight: 8,
      markerUnits: "userSpaceOnUse", orient: "auto"}, defs);
    el("path", {d: "M0,0 L10,5 L0,10 z", fill: e.color}, m);
    markers[e.color] = id;
  });
  var edgeLayer = el("g", {}, svg);
  var nodeLayer = el("g", {}, svg);

  function edgePath(e) {
    var a = byId[e.source], b = byId[e.target];
    if (a === b) {
      return "M" + (a.x - 8) + "," + (a.y - R + 2) + " C" + (a.x - 30) + "," + (a.y - 3 * R) + " " +
        (a.x + 30) + "," + (a.y - 3 * R) + " " + (a.x + 8) + "," + (a.y - R + 2);
    }
    var dx = b.x - a.x, dy = b.y - a.y, len = Math.hypot(dx, dy) || 1;
    if (!e.curved) {
      return "M" + (a.x + dx / len * R) + "," + (a.y + dy / len * R) + " L" + (b.x - dx / len * R) + "," +
        (b.y - dy / len * R);
    }
    var bend = Math.min(Math.max(40, 0.3 * len), 120);
    var cx = (a.x + b.x) / 2 + dy / len * bend, cy = (a.y + b.y) / 2 - dx / len * bend;
    function towards(p, q) {
      var ex = q[0] - p.x, ey = q[1] - p.y, l = Math.hypot(ex, ey) || 1;
      return (p.x + ex / l * R) + "," + (p.y + ey / l * R);
    }
    return "M" + towards(a, [cx, cy]) + " Q" + cx + "," + cy + " " + towards(b, [cx, cy]);
  }

  data.nodes.forEach(function (n) { byId[n.id] = n; n.edges = []; });
  data.edges.forEach(function (e) {
    e.g = el("g", {"class": "edge"}, edgeLayer);
    e.line = el("path", {"class": "line", stroke: e.color, "stroke-width": e.width,
      "stroke-dasharray": e.enabled ? "none" : "5,4", "marker-end": "url(#" + markers[e.color] + ")"}, e.g);
    e.hit = el("path", {"class": "hit"}, e.g);
    byId[e.source].edges.push(e);
    if (e.target !== e.source) { byId[e.target].edges.push(e); }
    hover(e.g, function () {
      return describe("edge " + byId[e.source].label + " \u2192 " + byId[e.target].label, e.attrs);
    });
  });
  function redraw(edges) {
    edges.forEach(function (e) { var d = edgePath(e); e.line.setAttribute("d", d); e.hit.setAttribute("d", d); });
  }
  redraw(data.edges);

  function select(n) {
    selected = selected === n ? null : n;
    data.nodes.forEach(function (m) { m.g.classList.toggle("selected", m === selected); });
    data.edges.forEach(function (e) {
      var incoming = selected !== null && e.target === selected.id;
      var outgoing = selected !== null && e.source === selected.id;
      e.g.classList.toggle("incoming", incoming);
      e.g.classList.toggle("outgoing", outgoing && !incoming);
      e.g.classList.toggle("dim", selected !== null && !incoming && !outgoing);
    });
  }
  function svgPoint(ev) {
    var p = svg.createSVGPoint();
    p.x = ev.clientX; p.y = ev.clientY;
    return p.matrixTransform(svg.getScreenCTM().inverse());
  }

  data.nodes.forEach(function (n) {
    n.g = el("g", {"class": "node " + n.role, transform: "translate(" + n.x + "," + n.y + ")"}, nodeLayer);
    el("circle", {r: R, fill: data.roles[n.role]}, n.g);
    el("text", {}, n.g).textContent = n.label;
    hover(n.g, function () { return describe(n.role + " " + n.label, n.attrs); });
    var drag = null;
    n.g.addEventListener("pointerdown", function (ev) {
      var p = svgPoint(ev);
      drag = {dx: n.x - p.x, dy: n.y - p.y, x0: p.x, y0: p.y, moved: false};
      n.g.setPointerCapture(ev.pointerId);
      ev.stopPropagation();
    });
    n.g.addEventListener("pointermove", function (ev) {
      if (!drag) { return; }
      var p = svgPoint(ev);
      drag.moved = drag.moved || Math.hypot(p.x - drag.x0, p.y - drag.y0) > 3;
      if (!drag.moved) { return; }
      n.x = p.x + drag.dx; n.y = p.y + drag.dy;
      n.g.setAttribute("transform", "translate(" + n.x + "," + n.y + ")");
      redraw(n.edges);
    });
    n.g.addEventListener("pointerup", function (ev) {
      if (drag && !drag.moved) { select(n); }
      drag = null;
      n.g.releasePointerCapture(ev.pointerId);
      ev.stopPropagation();
    });
  });
  svg.addEventListener("pointerup", function () { if (selected) { select(selected); } });
})();"""
