"""`evolve plot`: a run's fitness and species over the generations as a picture (PNG, SVG or PDF), from its
metrics.jsonl alone; several runs (seeds, configs) are overlaid.

The top panel draws each run's best fitness so far, the generation's best and its mean with a band of one
standard deviation; the bottom panel the species: for one run a stack of species sizes (each band one species,
from its first generation to its last), for several runs their species counts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from evolve.config import ConfigError
from evolve.metrics_log import MetricsLog
from genomes.atomic_io import atomic_write

FORMATS = (".png", ".svg", ".pdf")


def read_run_metrics(run_dir: Path) -> list[dict[str, Any]]:
    """A run directory's metrics lines, in generation order; a folder without them is a ConfigError."""
    path = Path(run_dir) / "metrics.jsonl"
    if not path.is_file():
        raise ConfigError(f"{run_dir} is not a run directory (no metrics.jsonl)")
    lines = sorted(MetricsLog(path).read(), key=lambda m: m["generation"])
    if not lines:
        raise ConfigError(f"{run_dir} has no finished generation to plot yet")
    return lines


def species_sizes(lines: list[dict[str, Any]]) -> tuple[list[tuple[int, int]], np.ndarray]:
    """(island, species key) in order of appearance and their sizes per generation, (species, generations); 0 where a
    species did not exist. Island runs record species per island, so their stack is built island by island."""
    columns: list[dict[tuple[int, int], int]] = []
    for line in lines:
        parts = [(0, line)] if "species" in line else list(enumerate(line.get("islands", [])))
        columns.append({(island, int(s[0])): int(s[1]) for island, part in parts for s in part.get("species", [])})
    keys = list(dict.fromkeys(key for column in columns for key in column))
    sizes = np.array([[column.get(key, 0) for column in columns] for key in keys], dtype=np.int64).reshape(
        len(keys), len(columns))
    return keys, sizes


def _env_id(run_dir: Path) -> str:
    """The env id in a run's config.toml ("?" when it cannot be read)."""
    import tomllib

    try:
        return str(tomllib.loads((run_dir / "config.toml").read_text())["env"]["id"])
    except (OSError, ValueError, KeyError, TypeError):
        return "?"


def plot_runs(run_dirs: list[Path], output: Path) -> Path:
    """Draw the runs' fitness and species to `output` (.png, .svg or .pdf)."""
    output = Path(output)
    if output.suffix.lower() not in FORMATS:
        raise ConfigError(f"{output}: the plot must be {', '.join(FORMATS)}")
    runs = [(Path(d), read_run_metrics(Path(d))) for d in run_dirs]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # Fitness scales differ from task to task: one fitness panel per env id, the species below them all.
    tasks = list(dict.fromkeys(_env_id(run_dir) for run_dir, _ in runs))
    figure, axes = plt.subplots(len(tasks) + 1, 1, figsize=(9, 4 + 3 * len(tasks)), sharex=True,
                                constrained_layout=True)
    panels, bottom = dict(zip(tasks, axes[:-1])), axes[-1]
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for index, (run_dir, lines) in enumerate(runs):
        color = colors[index % len(colors)]
        top = panels[_env_id(run_dir)]
        generations = np.array([m["generation"] for m in lines])
        best = np.array([m["best_fitness"] for m in lines], dtype=float)
        mean = np.array([m["mean_fitness"] for m in lines], dtype=float)
        std = np.array([m.get("std_fitness", 0.0) for m in lines], dtype=float)
        name = run_dir.name if len(runs) > 1 else ""
        marker = "o" if len(generations) == 1 else None  # a single generation is a point, not a line
        top.plot(generations, np.maximum.accumulate(best), color=color, linewidth=2, marker=marker,
                 label=f"{name} best so far")
        top.plot(generations, best, color=color, linewidth=0.8, alpha=0.6, label=f"{name} generation best")
        top.plot(generations, mean, color=color, linestyle="--", linewidth=1, label=f"{name} mean")
        top.fill_between(generations, mean - std, mean + std, color=color, alpha=0.12)
        if len(runs) == 1:
            _, sizes = species_sizes(lines)
            if len(sizes):
                bottom.stackplot(generations, sizes, colors=[colors[i % len(colors)] for i in range(len(sizes))],
                                 linewidth=0.3, edgecolor="white")
            bottom.set_ylabel("genomes per species")
        else:
            bottom.plot(generations, [m.get("n_species", 0) for m in lines], color=color, label=name)
            bottom.set_ylabel("species")
    for task, top in panels.items():
        count = sum(_env_id(run_dir) == task for run_dir, _ in runs)
        top.set_ylabel("fitness" if len(tasks) == 1 else f"fitness ({task})")
        top.legend(fontsize="small", ncols=min(count, 3))
        top.grid(alpha=0.3)
    axes[0].set_title(str(runs[0][0]) if len(runs) == 1 else f"{len(runs)} runs")
    bottom.set_xlabel("generation")
    bottom.grid(alpha=0.3)
    meta = {"Date": None} if output.suffix.lower() == ".svg" else {}
    atomic_write(output, lambda f: figure.savefig(f, format=output.suffix[1:].lower(), dpi=120, metadata=meta))
    plt.close(figure)
    return output
