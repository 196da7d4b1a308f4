"""Inspecting, drawing and exporting genomes: the functions behind `evolve inspect` and `evolve export`.

Each takes a genome JSON file, a best.json, or a run directory (its best genome).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from evolve.config import ConfigError

log = logging.getLogger(__name__)


def genome_path(path: str | Path) -> Path:
    """A genome file, or a run directory's best.json; a missing one is a ConfigError."""
    path = Path(path)
    if path.is_dir():
        best = path / "best.json"
        if not best.is_file():
            raise ConfigError(f"{path} has no best.json (is it a run directory with a finished generation?)")
        return best
    if not path.is_file():
        raise ConfigError(f"{path} is not a genome file or run directory" if path.exists() else
                          f"no such genome file or run directory: {path}")
    return path


def inspect_genome(path: str | Path) -> dict[str, Any]:
    """Short figures of the genome at `path` (nodes, connections, depth, ... or a cell's edges and parameters)."""
    from genomes.export import load_genome

    return load_genome(genome_path(path)).summary()


def render_genome(path: str | Path, output: str | Path) -> Path:
    """Draw the genome at `path` to `output` (.svg, .png, .dot, .graphml or .html)."""
    from genomes.export import load_genome
    from genomes.render import render

    genome = load_genome(genome_path(path))
    try:
        render(genome, Path(output), title=str(path))
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    return Path(output)


def export_genome(path: str | Path, fmt: str, output: str | Path) -> Path:
    """Export the genome at `path` as `fmt` (json, torchscript or onnx) to `output`, with its trained weights when
    the run recorded some."""
    from genomes.export import export, load_genome
    from genomes.neat_genome import NeatGenome

    source = genome_path(path)
    env_id, task = _run_task(source)
    weights = _trained_weights(source)
    sample_shape = task.input_shape if weights is not None and task is not None else None
    _refuse_run_files(source, weights, Path(output))
    genome = load_genome(source)
    metadata: dict[str, Any] = {"source": str(source)}
    if task is not None:  # how to feed the network and read its answer
        metadata.update(task=env_id, interface=task.interface())
    if not isinstance(genome, NeatGenome):
        metadata["trained_weights"] = weights is not None
        if weights is None:
            log.warning("%s has no trained weights (the run stopped before its final retraining, or this is a bare "
                        "genome file): the export holds untrained, random weights", source)
    export(genome, fmt, Path(output), metadata=metadata, weights=weights, sample_shape=sample_shape)
    return Path(output)


def _run_task(source: Path) -> tuple[str | None, Any]:
    """The env id and task of the run `source` belongs to (its config.toml beside it); (None, None) for a genome
    file elsewhere."""
    config_path = source.parent / "config.toml"
    if not config_path.is_file():
        return None, None
    from evolve.config import load_config

    config = load_config(config_path)
    return config.env.id, config.env.make()


def _refuse_run_files(source: Path, weights: Path | None, output: Path) -> None:
    """An export never replaces the genome it reads, its weights, nor a file of the run directory it came from."""
    from evolve.run_directory import RUN_FILES

    target, run_dir = output.resolve(), source.resolve().parent
    own = {source.resolve(), *([weights.resolve()] if weights else [])}
    if (run_dir / "config.toml").is_file():
        own |= {run_dir / name for name in RUN_FILES}
    if target in own or any(parent in own for parent in target.parents):
        raise ConfigError(f"{output} is the run's own {target.name}; export to another file")


def _trained_weights(source: Path) -> Path | None:
    """The trained weights a searched genome's best.json refers to (None for genomes that carry their weights,
    such as NEAT's)."""
    try:
        document = json.loads(source.read_text())
    except (OSError, ValueError, RecursionError):  # load_genome then names the problem
        return None
    name = document.get("weights") if isinstance(document, dict) else None
    if not isinstance(name, str):
        return None
    if Path(name).name != name or name in (".", ".."):
        raise ConfigError(f"{source}: weights {name!r} must be a file beside it, not a path")
    weights = source.parent / name
    if not weights.is_file():
        raise ConfigError(f"{source} refers to trained weights {weights}, which do not exist")
    return weights
