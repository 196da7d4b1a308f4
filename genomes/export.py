"""Exporting a NEAT genome: its JSON document, a TorchScript module or an ONNX model, and loading genome files.

Every writer is atomic (a temporary file in the target directory, then `os.replace`) and nothing is pickled by this
module. The TorchScript and ONNX files hold the float32 `genome.to_module()` with a dynamic batch dimension:
feed-forward `input -> output`; recurrent `(input, state) -> (output, new_state)`, one time step per call, starting
from a zero state of shape (batch, state_size).
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from genomes.atomic_io import atomic_write
from genomes.base import GenomeError
from genomes.families import SCHEMAS, load_document
from genomes.neat_genome import NeatGenome
from genomes.network_plan import build_plan

if TYPE_CHECKING:
    import torch

EXPORT_SCHEMA = "neat-genome-export"
EXPORT_VERSION = 1
FORMATS = ("json", "pt2", "torchscript", "onnx")
_RESERVED = ("schema", "version", "genome")
MAX_GENOME_BYTES = 64 << 20  # 200,000 genes (genomes.neat_genome.MAX_GENES) take about 20 MB of JSON
MAX_EXPORT_LAYERS = 64  # evolved networks have a few to a few dozen; tracing 100 takes the exporters up to a minute
log = logging.getLogger(__name__)


def export(genome: Any, fmt: str, path: Path, metadata: dict[str, Any] | None = None,
           weights: Path | None = None, sample_shape: tuple[int, ...] | None = None) -> None:
    """Write `genome` to `path` as "json", "torchscript" or "onnx".

    Cell genomes (CNN, recurrent) export their network with the trained `weights` (a safetensors file written by
    the search) for inputs of `sample_shape` per sample (default: the genome's input shape; a recurrent cell needs
    the sequence length, (steps, features), since export fixes the unrolled steps).

    json: the bare genome document when metadata is None, else `{"schema": "neat-genome-export", "version": 1,
    "genome": ..., **metadata}`; both read back with `load_genome`. torchscript/onnx: the traced float32 module,
    with the network's shape (and metadata, as JSON) in `neat_export.json` (TorchScript extra file) or the
    `neat_export` ONNX metadata property.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r} (use json, torchscript or onnx)")
    path = Path(path)
    if metadata is not None and (clash := [k for k in _RESERVED if k in metadata]):
        raise ValueError(f"metadata key {clash[0]!r} is reserved")
    if fmt == "json":
        doc = genome.to_dict() if metadata is None else {
            "schema": EXPORT_SCHEMA, "version": EXPORT_VERSION, "genome": genome.to_dict(), **metadata
        }
        text = json.dumps(doc, separators=(",", ":"), allow_nan=False, default=_json_default) + "\n"
        atomic_write(path, lambda f: f.write(text.encode()))
    elif not isinstance(genome, NeatGenome):
        from genomes.cell_export import cell_export_bytes

        data = cell_export_bytes(genome, fmt, metadata, weights, sample_shape)
        atomic_write(path, lambda f: f.write(data))
    elif (layers := len(build_plan(genome).layers)) > MAX_EXPORT_LAYERS:
        raise GenomeError(f"the network has {layers:,} layers; {fmt} export takes at most {MAX_EXPORT_LAYERS} "
                          f"(each layer is traced as its own module); export json instead")
    elif fmt == "pt2":
        module, example, _, _ = _example(genome, batch=2)  # 2: a batch of 1 would be specialized away
        atomic_write(path, lambda f: f.write(program_bytes(module, example, _info(genome, module, metadata))))
    elif fmt == "torchscript":
        atomic_write(path, lambda f: f.write(torchscript_bytes(genome, metadata)))
    else:
        atomic_write(path, lambda f: f.write(onnx_bytes(genome, metadata)))


def load_genome(path: Path) -> Any:
    """Read a genome file: a bare genome document, an export document, or any `{"genome": {...}, ...}` wrapper
    such as a run's best.json. Raises GenomeError with a one-line message for unreadable or malformed files."""
    path = Path(path)
    try:
        if path.is_file() and (size := path.stat().st_size) > MAX_GENOME_BYTES:
            raise GenomeError(f"{path}: {size:,} bytes is too big for a genome file (at most {MAX_GENOME_BYTES:,})")
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise GenomeError(f"{path}: invalid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
    except OSError as exc:
        raise GenomeError(f"{path}: cannot read genome file ({exc.strerror or _one_line(exc)})") from None
    except UnicodeDecodeError as exc:
        raise GenomeError(f"{path}: cannot read genome file (not UTF-8: {exc.reason})") from None
    except RecursionError:
        raise GenomeError(f"{path}: invalid JSON (nested too deeply)") from None
    except ValueError as exc:  # e.g. an integer of thousands of digits
        raise GenomeError(f"{path}: invalid JSON ({_one_line(exc)})") from None
    if isinstance(data, dict) and data.get("schema") == EXPORT_SCHEMA and data.get("version") != EXPORT_VERSION:
        raise GenomeError(f"{path}: unsupported export version {data.get('version')!r}")
    if isinstance(data, dict) and data.get("schema") not in SCHEMAS and isinstance(data.get("genome"), dict):
        data = data["genome"]
    try:
        return load_document(data)
    except GenomeError as exc:
        raise GenomeError(f"{path}: {_one_line(exc)}") from None
    except (TypeError, ValueError, KeyError, IndexError, OverflowError) as exc:  # a few slip past from_dict's checks
        raise GenomeError(f"{path}: malformed genome: {exc.__class__.__name__}: {_one_line(exc)}") from None


def _example(genome: NeatGenome, batch: int) -> tuple[torch.nn.Module, tuple[torch.Tensor, ...], list[str], list[str]]:
    """The float32 module, example inputs, and the input/output names of the exported graph."""
    import torch

    module = genome.to_module(torch.float32)
    x = torch.zeros(batch, genome.num_inputs)
    if genome.feed_forward:
        return module, (x,), ["input"], ["output"]
    return module, (x, module.initial_state(batch)), ["input", "state"], ["output", "new_state"]


def _info(genome: NeatGenome, module: torch.nn.Module, metadata: dict[str, Any] | None) -> str:
    info = {
        "schema": EXPORT_SCHEMA,
        "version": EXPORT_VERSION,
        "num_inputs": genome.num_inputs,
        "num_outputs": genome.num_outputs,
        "recurrent": not genome.feed_forward,
        "state_size": 0 if genome.feed_forward else int(module.num_nodes),
        "metadata": metadata or {},
    }
    return json.dumps(info, allow_nan=False, default=_json_default)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence torch's deprecation chatter (torch.jit, the legacy ONNX exporter) and exporter log lines locally."""
    noisy = logging.getLogger("torch.onnx")
    level = noisy.level
    noisy.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", FutureWarning)
            warnings.filterwarnings("ignore", message=r"# The axis name: .* will not be used")
            import torch

            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            yield
    finally:
        noisy.setLevel(level)


def torchscript_bytes(genome: NeatGenome, metadata: dict[str, Any] | None = None) -> bytes:
    """The genome's module traced with torch.jit.trace (example batch of one) and serialized."""
    module, example, _, _ = _example(genome, batch=1)
    return traced_bytes(module, example, _info(genome, module, metadata))


def onnx_bytes(genome: NeatGenome, metadata: dict[str, Any] | None = None) -> bytes:
    """The genome's module as a serialized ONNX model with a dynamic batch dimension."""
    module, example, inputs, outputs = _example(genome, batch=2)
    return onnx_model_bytes(module, example, inputs, outputs, _info(genome, module, metadata))


def program_bytes(module: torch.nn.Module, example: tuple[torch.Tensor, ...], info: str) -> bytes:
    """`module` as a torch.export program (a .pt2 archive, `torch.export.load` reads it) with a dynamic batch
    dimension and `info` as the extra file neat_export.json."""
    import torch

    buffer = io.BytesIO()
    with _quiet(), torch.no_grad():
        batch = torch.export.Dim("batch")
        program = torch.export.export(module, example, dynamic_shapes=tuple({0: batch} for _ in example))
        torch.export.save(program, buffer, extra_files={"neat_export.json": info})
    return buffer.getvalue()


def traced_bytes(module: torch.nn.Module, example: tuple[torch.Tensor, ...], info: str) -> bytes:
    """`module` traced with torch.jit.trace on `example` and serialized, with `info` as neat_export.json."""
    import torch

    buffer = io.BytesIO()
    with _quiet(), torch.no_grad():
        traced = torch.jit.trace(module, example)
        torch.jit.save(traced, buffer, _extra_files={"neat_export.json": info})
    return buffer.getvalue()


def onnx_model_bytes(module: torch.nn.Module, example: tuple[torch.Tensor, ...], inputs: list[str],
                     outputs: list[str], info: str) -> bytes:
    """`module` as a serialized ONNX model with a dynamic batch dimension and `info` as the neat_export property.

    Uses the torch.export-based exporter (`dynamo=True`); should it fail, falls back to the legacy TorchScript-based
    exporter, which produces an equivalent graph.
    """
    import importlib.util

    if missing := [name for name in ("onnx", "onnxscript") if importlib.util.find_spec(name) is None]:
        raise GenomeError(f"ONNX export needs the {missing[0]} package: pip install onnx onnxscript "
                          "(the project's [export] extra)")
    import onnx
    import torch

    with _quiet(), torch.no_grad():
        try:
            batch = torch.export.Dim("batch")
            program = torch.onnx.export(
                module, example, dynamo=True, input_names=inputs, output_names=outputs, verbose=False,
                dynamic_shapes=tuple({0: batch} for _ in example), external_data=False,
            )
            model = program.model_proto
        except Exception as exc:  # noqa: BLE001 - any failure of the new exporter falls back to the legacy one
            log.warning("torch.export-based ONNX export failed (%s); using the legacy exporter", _one_line(exc))
            buffer = io.BytesIO()
            torch.onnx.export(
                module, example, buffer, dynamo=False, input_names=inputs, output_names=outputs,
                dynamic_axes={name: {0: "batch"} for name in inputs + outputs},
            )
            model = onnx.load_from_string(buffer.getvalue())
    entry = model.metadata_props.add()
    entry.key, entry.value = "neat_export", info
    return model.SerializeToString()


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"metadata value of type {type(value).__name__} is not JSON serializable")


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or exc.__class__.__name__
