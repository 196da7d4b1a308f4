"""Declarations for typed, range-checked configuration fields.

Config sections are plain dataclasses whose fields are declared with `param`; `evolve.config` reads the bounds
from the field metadata to validate TOML input and report one clear line per problem.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any


def param(
    default: Any,
    *,
    ge: float | None = None,
    le: float | None = None,
    gt: float | None = None,
    choices: Sequence[Any] | None = None,
    each_in: Sequence[Any] | None = None,
    finite: bool = True,
    doc: str = "",
) -> Any:
    """A dataclass field with validation metadata (`each_in` checks every element of a list value; a float must be
    finite unless `finite=False`)."""
    metadata = {"ge": ge, "le": le, "gt": gt, "choices": choices, "each_in": each_in, "finite": finite, "doc": doc}
    if isinstance(default, list):
        return dataclasses.field(default_factory=lambda: list(default), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)
