"""Which device this process evaluates on, as a name ("cpu", "cuda", "cuda:1"), without importing torch unless
the answer needs it ("auto" asks torch whether this process sees a GPU)."""

from __future__ import annotations

from typing import Any

_default_device = "cpu"


def resolve_device(device: Any = None) -> str:
    """None or "" is this process's default device; "auto" is CUDA when this process sees a GPU, else the CPU; a
    torch.device or any other name is returned as its name."""
    if device is None or str(device) == "":
        return _default_device
    if str(device) == "auto":
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    return str(device)


def set_default_device(device: Any) -> str:
    """The device population networks use when none is named: evaluator processes given a GPU set CUDA."""
    global _default_device
    _default_device = resolve_device(device)
    return _default_device


def device_type(device: str) -> str:
    """"cuda" for "cuda:1", "cpu" for "cpu"."""
    return device.split(":", 1)[0]
