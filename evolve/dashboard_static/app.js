// The dashboard page: polls the read-only JSON endpoints every two seconds and draws with uPlot.
"use strict";

const POLL_MS = 2000;
const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                "#bcbd22", "#17becf"];
const state = { entries: [], open: null, lines: [], videos: [], ticked: new Set(), compared: {}, charts: {} };

const el = (tag, attrs = {}, text) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
};
const fmt = (v) => (v === null || v === undefined ? "" : typeof v === "number" ? Number(v.toPrecision(6)) : v);
const json = async (url) => {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  return response.json();
};
const q = encodeURIComponent;

async function refreshEntries() {
  const data = await json("/api/entries");
  document.getElementById("root").textContent = data.root;
  state.entries = data.entries;
  const body = document.querySelector("#entries tbody");
  body.replaceChildren(...data.entries.map((e) => {
    const row = el("tr", { "data-path": e.path, "data-status": e.status });
    if (state.open && state.open.path === e.path) row.classList.add("selected");
    const box = el("input", { type: "checkbox" });
    box.checked = state.ticked.has(e.path);
    box.disabled = e.kind !== "run";
    box.onchange = () => { box.checked ? state.ticked.add(e.path) : state.ticked.delete(e.path); drawCompare(); };
    const tick = el("td"); tick.append(box);
    const path = el("td", { class: "path" });
    const link = el("a", { href: "#" }, e.path);  // a link, so the keyboard reaches it; the whole cell opens it
    link.onclick = (event) => event.preventDefault();
    path.append(link);
    path.onclick = () => openEntry(e);
    const status = el("td", { class: `status-${e.status}`, title: e.problem || "" }, e.status);
    const cells = e.kind === "study"
      ? [el("td", {}, "study"), el("td"), el("td", {}, `${e.trials ?? ""} trials`), el("td", {}, fmt(e.best)), el("td")]
      : [el("td", {}, e.env ?? ""), el("td", {}, fmt(e.seed)), el("td", {}, fmt(e.generations)),
         el("td", {}, fmt(e.best)), el("td", {}, e.solved ? `yes (gen ${e.solved_generation ?? "?"})` : "")];
    row.append(tick, path, status, ...cells);
    return row;
  }));
  await drawCompare();
}

async function openEntry(entry) {
  state.open = entry;
  state.fetching = false;
  state.lines = [];
  state.videos = [];
  for (const chart of Object.values(state.charts)) chart.destroy();
  state.charts = {};
  const detail = document.getElementById("detail");
  detail.replaceChildren(el("h2", {}, entry.path));
  if (entry.kind === "study") return openStudy(entry, detail);
  if (entry.status === "damaged") {
    detail.append(el("p", { class: "status-damaged" }, `This run cannot be read: ${entry.problem}`));
    return;
  }
  detail.append(el("div", { class: "figures", id: "figures" }), el("h2", {}, "Fitness"),
                el("div", { id: "fitness-chart", "data-points": "0" }), el("h2", {}, "Species"),
                el("div", { id: "species-chart", "data-series": "0" }), el("h2", {}, "Champion network"),
                el("div", { id: "champion-controls" }), el("div", { id: "videos" }));
  await refreshRun();
  document.querySelectorAll("#entries tr").forEach((r) => r.classList.toggle("selected", r.dataset.path === entry.path));
}

const lastGeneration = () => (state.lines.length ? state.lines[state.lines.length - 1].generation : -1);

async function refreshRun() {
  const entry = state.open;
  if (!entry || entry.kind !== "run" || entry.status === "damaged" || state.fetching) return;
  state.fetching = true;  // the poll and a click never fetch the same generations twice
  let data;
  try {
    data = await json(`/api/run/curves?path=${q(entry.path)}&after=${lastGeneration()}`);
  } finally {
    state.fetching = false;
  }
  if (state.open !== entry) return;
  const newer = data.lines.filter((l) => l.generation > lastGeneration());
  const fresh = newer.length > 0;
  state.lines.push(...newer);
  if (fresh || !state.charts.fitness) {
    drawFitness();
    drawSpecies();
    drawFigures();
    drawChampionControls(fresh);
  }
  if (data.videos.join() !== state.videos.join()) drawVideos((state.videos = data.videos));
}

function drawFigures() {
  const last = state.lines[state.lines.length - 1];
  const box = document.getElementById("figures");
  if (!last) { box.replaceChildren(el("span", { class: "muted" }, "no generation recorded yet")); return; }
  box.replaceChildren(...[
    ["generations", state.lines.length], ["best so far", Math.max(...state.lines.map((l) => l.best_fitness))],
    ["evaluations", last.evaluations], ["wall seconds", last.wall_seconds], ["species", last.n_species],
    ["solved", last.solved ? "yes" : "no"],
  ].map(([k, v]) => el("span", {}, `${k}: ${fmt(v)}`)));
}

// Generations on x: whole numbers only, from the first to the last generation drawn (at least one wide, so a run
// of one generation does not get uPlot's default 0-100 axis). Charts are rebuilt on each update, so a fixed range
// follows the run.
function generationsX(xs) {
  const lo = xs.length ? xs[0] : 0;
  const hi = xs.length ? Math.max(xs[xs.length - 1], lo + 1) : 1;
  return {
    scales: { x: { time: false, auto: false, range: [lo, hi] } },
    axes: [{ incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000] }, {}],
  };
}

function chart(key, holder, opts, columns) {
  if (state.charts[key]) state.charts[key].destroy();
  const width = Math.max(320, holder.clientWidth || 600);
  state.charts[key] = new uPlot({ width, height: 260, ...generationsX(columns[0]), ...opts }, columns, holder);
}

function drawFitness() {
  const lines = state.lines;
  const x = lines.map((l) => l.generation);
  let running = -Infinity;
  const sofar = lines.map((l) => (running = Math.max(running, l.best_fitness)));
  const holder = document.getElementById("fitness-chart");
  holder.dataset.points = String(lines.length);
  chart("fitness", holder, {
    series: [{ label: "generation" },
             { label: "best so far", stroke: COLORS[0], width: 2 },
             { label: "generation best", stroke: COLORS[1] },
             { label: "mean", stroke: COLORS[2], dash: [6, 4] },
             { label: "mean - std", stroke: "rgba(44,160,44,0.3)" },
             { label: "mean + std", stroke: "rgba(44,160,44,0.3)" }],
    bands: [{ series: [5, 4], fill: "rgba(44,160,44,0.10)" }],
  }, [x, sofar, lines.map((l) => l.best_fitness), lines.map((l) => l.mean_fitness),
      lines.map((l) => l.mean_fitness - (l.std_fitness || 0)), lines.map((l) => l.mean_fitness + (l.std_fitness || 0))]);
}

function drawSpecies() {
  // A stack of species sizes: series k is the sum of the first k+1 species; drawn from the top one down, each
  // filled to zero, so every band shows one species.
  const lines = state.lines;
  const keys = [];
  const seen = new Set();
  for (const l of lines) for (const s of l.species || []) if (!seen.has(s[0])) { seen.add(s[0]); keys.push(s[0]); }
  const byKey = lines.map((l) => new Map((l.species || []).map((s) => [s[0], s[1]])));
  const sizes = keys.map((k) => byKey.map((m) => m.get(k) || 0));
  const cumulative = [];
  sizes.forEach((row, i) => cumulative.push(row.map((v, j) => v + (i ? cumulative[i - 1][j] : 0))));
  const holder = document.getElementById("species-chart");
  holder.dataset.series = String(keys.length);
  const order = cumulative.map((_, i) => cumulative.length - 1 - i);
  chart("species", holder, {
    legend: { show: false },
    series: [{ label: "generation" }, ...order.map((i) => ({
      label: `species ${keys[i]}`, stroke: "#fff", width: 0.5, fill: COLORS[i % COLORS.length],
      points: { show: false } }))],
  }, [lines.map((l) => l.generation), ...order.map((i) => cumulative[i])]);
}

function drawChampionControls(fresh) {
  const box = document.getElementById("champion-controls");
  const last = state.lines.length ? state.lines[state.lines.length - 1].generation : null;
  if (last === null) return;
  let slider = document.getElementById("champion-generation");
  if (!slider) {
    slider = el("input", { type: "range", min: "0", id: "champion-generation" });
    const label = el("span", { id: "champion-label" });
    const frame = el("iframe", { id: "champion", title: "champion network" });
    slider.oninput = () => showChampion(Number(slider.value));
    box.append(slider, label, frame);
  }
  const following = slider.value === "" || Number(slider.value) === Number(slider.max);
  slider.max = String(last);
  if (following || !document.getElementById("champion").src) { slider.value = String(last); showChampion(last); }
}

function showChampion(generation) {
  document.getElementById("champion-label").textContent = ` generation ${generation}`;
  document.getElementById("champion").src =
    `/api/run/champion?path=${q(state.open.path)}&generation=${generation}`;
}

function drawVideos(names) {
  const box = document.getElementById("videos");
  box.replaceChildren(...(names.length ? [el("h2", {}, "Replays")] : []), ...names.map((name) => {
    const url = `/api/run/file?path=${q(state.open.path)}&name=${q(name)}`;
    if (name.toLowerCase().endsWith(".gif")) return el("img", { class: "video", src: url, alt: name });
    return el("video", { src: url, controls: "" });
  }));
}

async function openStudy(entry, detail) {
  const data = await json(`/api/study/trials?path=${q(entry.path)}`);
  const trials = data.trials;
  const columns = trials.length ? Object.keys(trials[0]) : [];
  const table = el("table", { id: "trials" });
  table.append(el("tr", {}), ...trials.map((t) => {
    const row = el("tr");
    row.append(...columns.map((c) => el("td", {}, fmt(isNaN(Number(t[c])) || t[c] === "" ? t[c] : Number(t[c])))));
    return row;
  }));
  table.firstChild.append(...columns.map((c) => el("th", {}, c)));
  detail.append(el("p", {}, `${trials.length} trials`), table);
}

async function drawCompare() {
  const box = document.getElementById("compare");
  const paths = [...state.ticked];
  if (paths.length < 2) { box.replaceChildren(); if (state.charts.compare) { state.charts.compare.destroy(); delete state.charts.compare; } return; }
  const curves = await Promise.all(paths.map((p) => json(`/api/run/curves?path=${q(p)}`)));
  const longest = Math.max(...curves.map((c) => c.lines.length));
  const x = Array.from({ length: longest }, (_, i) => i);
  const series = curves.map((c) => {
    let running = -Infinity;
    const values = c.lines.map((l) => (running = Math.max(running, l.best_fitness)));
    return x.map((i) => (i < values.length ? values[i] : null));
  });
  const holder = el("div", { id: "compare-chart", "data-runs": String(paths.length) });
  const table = el("table", { id: "compare-table" });
  table.append(el("tr"), ...paths.map((p, i) => {
    const last = curves[i].lines[curves[i].lines.length - 1] || {};
    const row = el("tr");
    row.append(el("td", { style: `color:${COLORS[i % COLORS.length]}` }, p), el("td", {}, fmt(curves[i].lines.length)),
               el("td", {}, fmt(Math.max(...curves[i].lines.map((l) => l.best_fitness)))), el("td", {}, last.solved ? "yes" : ""));
    return row;
  }));
  table.firstChild.append(...["run", "generations", "best", "solved"].map((c) => el("th", {}, c)));
  box.replaceChildren(el("h2", {}, "Best so far, overlaid"), holder, table);
  if (state.charts.compare) state.charts.compare.destroy();
  state.charts.compare = new uPlot({
    width: Math.max(320, box.clientWidth || 500), height: 240, ...generationsX(x),
    series: [{ label: "generation" }, ...paths.map((p, i) => ({ label: p, stroke: COLORS[i % COLORS.length], width: 2 }))],
  }, [x, ...series], holder);
}

async function tick() {
  try {
    await refreshEntries();
    await refreshRun();
  } catch (error) {
    console.warn(error);
  }
  setTimeout(tick, POLL_MS);
}

tick();
