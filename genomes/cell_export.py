"""Exporting a searched cell genome's network with its trained weights to a torch.export program, TorchScript or ONNX.

The weights are the safetensors file the search wrote beside best.json (no pickle); the graph is traced in
inference mode (batch norm on its running statistics) for inputs of one sample shape with a dynamic batch.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from genomes.base import GenomeError
from genomes.export import (
    EXPORT_SCHEMA, EXPORT_VERSION, _json_default, onnx_model_bytes, program_bytes, traced_bytes,
)


def trained_module(genome: Any, weights: Path | None = None) -> Any:
    """`genome.to_module()` in eval mode, float32, with the trained weights loaded when given."""
    import torch

    module = genome.to_module().to(torch.float32)
    if weights is not None:
        from safetensors.torch import load_model

        check_safetensors(weights)
        try:
            load_model(module, str(weights))
        except Exception as exc:  # noqa: BLE001 - the loader's errors (wrong names, shapes) become one line
            raise GenomeError(f"{weights}: trained weights do not fit this genome: {_first_line(exc)}") from None
    return module.eval()


MAX_WEIGHTS_BYTES = 4 << 30  # a searched cell network's weights are megabytes
MAX_HEADER_BYTES = 100 << 20  # safetensors' own limit on the JSON header


def check_safetensors(path: Path) -> None:
    """A one-line GenomeError unless `path` looks like a complete safetensors file: an 8-byte header length that
    fits the file and the format's limit, a JSON header, and tensor data inside the file."""
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            prefix = f.read(8)
            length = int.from_bytes(prefix, "little") if len(prefix) == 8 else -1
            if not 0 < length <= min(MAX_HEADER_BYTES, size - 8):
                raise GenomeError(f"{path}: not a safetensors file (bad header length)")
            header = json.loads(f.read(length))
    except OSError as exc:
        raise GenomeError(f"{path}: cannot read trained weights ({exc.strerror or exc})") from None
    except (ValueError, RecursionError):
        raise GenomeError(f"{path}: not a safetensors file (its header is not JSON)") from None
    if size > MAX_WEIGHTS_BYTES:
        raise GenomeError(f"{path}: {size} bytes of weights is more than a searched network holds")
    if not isinstance(header, dict):
        raise GenomeError(f"{path}: not a safetensors file (its header is not a table)")
    data = size - 8 - length
    for name, tensor in header.items():
        offsets = tensor.get("data_offsets") if isinstance(tensor, dict) else None
        if name != "__metadata__" and not (isinstance(offsets, list) and len(offsets) == 2
                                           and all(isinstance(o, int) for o in offsets)
                                           and 0 <= offsets[0] <= offsets[1] <= data):
            raise GenomeError(f"{path}: tensor {name!r} lies outside the file (truncated or damaged)")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def cell_export_bytes(genome: Any, fmt: str, metadata: dict[str, Any] | None, weights: Path | None,
                      sample_shape: tuple[int, ...] | None) -> bytes:
    import torch

    # a recurrent cell has no fixed length: a run's export passes its task's; a bare genome file gets 16 steps
    shape = tuple(sample_shape or getattr(genome, "input_shape", None) or (16, genome.input_size))
    module = trained_module(genome, weights)
    info = json.dumps({"schema": EXPORT_SCHEMA, "version": EXPORT_VERSION, "genome_schema": genome.to_dict()["schema"],
                       "input_shape": list(shape), "num_outputs": genome.num_outputs, "trained": weights is not None,
                       "metadata": metadata or {}}, allow_nan=False, default=_json_default)
    if fmt == "pt2":
        return program_bytes(module, (torch.zeros(2, *shape),), info)
    if fmt == "torchscript":
        return traced_bytes(module, (torch.zeros(1, *shape),), info)
    return onnx_model_bytes(module, (torch.zeros(2, *shape),), ["input"], ["output"], info)
