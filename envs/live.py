"""Live resources of tasks (emulators, Gymnasium environments, ALE instances), kept apart from their settings.

A task object is its settings only: a frozen dataclass that compares by value, pickles small and can be shipped
anywhere. What a task builds to evaluate (an emulator costs seconds and, for stable-retro, exists once per process)
lives here, per process, keyed by the task's type and settings, so equal tasks share their resources and a
worker keeps them alive between chunks.
"""

from __future__ import annotations

import dataclasses
import json
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
MAX_TASKS = 8  # task settings whose resources are kept; the least recently used are dropped beyond this

_STORES: OrderedDict[str, dict[str, Any]] = OrderedDict()


def live_store(task: Any) -> dict[str, Any]:
    """This process's resources of `task` (a dict the task fills as it likes)."""
    key = settings_key(task)
    store = _STORES.get(key)
    if store is None:
        store = _STORES[key] = {}
        while len(_STORES) > MAX_TASKS:
            _STORES.popitem(last=False)
    else:
        _STORES.move_to_end(key)
    return store


def live(task: Any, name: str, build: Callable[[], T]) -> T:
    """The resource `name` of `task` in this process, built by `build()` on first use."""
    store = live_store(task)
    if name not in store:
        store[name] = build()
    return store[name]


def settings_key(task: Any) -> str:
    """The task's type and settings (its dataclass fields) as one string. A dataclass task's settings are frozen, so
    its key is computed once and kept on the instance (lock-step loops ask for their resources every step)."""
    cached = getattr(task, "__dict__", {}).get(_KEY_ATTRIBUTE)
    if cached is not None:
        return cached
    cls = type(task)
    if not dataclasses.is_dataclass(task):
        return f"{cls.__module__}.{cls.__qualname__}:" + json.dumps({"id": id(task)})
    fields = {f.name: getattr(task, f.name) for f in dataclasses.fields(task)}
    key = f"{cls.__module__}.{cls.__qualname__}:" + json.dumps(fields, sort_keys=True, default=repr)
    try:
        object.__setattr__(task, _KEY_ATTRIBUTE, key)  # frozen dataclasses too; not a field, so not compared
    except (AttributeError, TypeError):  # slotted classes keep no extra attributes
        pass
    return key


_KEY_ATTRIBUTE = "_evolve_settings_key"
