"""Exporting a searched cell genome's network with its trained weights to TorchScript or ONNX.

The weights are the safetensors file the search wrote beside best.json (no pickle); the graph is traced in
inference mode (batch norm on its running statistics) for inputs of one sample shape with a dynamic batch.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from genomes.export import EXPORT_SCHEMA, EXPORT_VERSION, _json_default, onnx_model_bytes, traced_bytes


def trained_module(genome: Any, weights: Path | None = None) -> Any:
    """`genome.to_module()` in eval mode, float32, with the trained weights loaded when given."""
    import torch

    module = genome.to_module().to(torch.float32)
    if weights is not None:
        from safetensors.torch import load_model

        load_model(module, str(weights))
    return module.eval()


def cell_export_bytes(genome: Any, fmt: str, metadata: dict[str, Any] | None, weights: Path | None,
                      sample_shape: tuple[int, ...] | None) -> bytes:
    import torch

    # a recurrent cell has no fixed length: a run's export passes its task's; a bare genome file gets 16 steps
    shape = tuple(sample_shape or getattr(genome, "input_shape", None) or (16, genome.input_size))
    module = trained_module(genome, weights)
    info = json.dumps({"schema": EXPORT_SCHEMA, "version": EXPORT_VERSION, "genome_schema": genome.to_dict()["schema"],
                       "input_shape": list(shape), "num_outputs": genome.num_outputs, "trained": weights is not None,
                       "metadata": metadata or {}}, allow_nan=False, default=_json_default)
    if fmt == "torchscript":
        return traced_bytes(module, (torch.zeros(1, *shape),), info)
    return onnx_model_bytes(module, (torch.zeros(2, *shape),), ["input"], ["output"], info)
