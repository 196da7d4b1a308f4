"""`make(env_id, **kwargs)`: our task ids, plus any Gymnasium id wrapped as an episodic control task.

Tasks register by entry point ("module:Class", as Gymnasium does) so a task's module is imported only when used.
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import Any

from envs.task import Task

_REGISTRY: dict[str, str] = {
    "xor": "envs.xor:XorTask",
    "dpv": "envs.double_pole_tasks:DoublePoleVelocityTask",
    "dpnv": "envs.double_pole_tasks:DoublePoleNoVelocityTask",
    "mario": "envs.mario_task:MarioTask",
    "atari": "envs.atari:AtariTask",
    "supervised": "envs.supervised_task:SupervisedTask",
}


class UnknownEnvError(ValueError):
    pass


def register(env_id: str, entry_point: str) -> None:
    _REGISTRY[env_id] = entry_point


def registered_ids() -> list[str]:
    return sorted(_REGISTRY)


def task_class(env_id: str) -> type:
    """The dataclass implementing env_id (GymTask for Gymnasium ids); raises UnknownEnvError."""
    if env_id in _REGISTRY:
        module, _, name = _REGISTRY[env_id].partition(":")
        return getattr(importlib.import_module(module), name)
    import gymnasium

    if env_id in gymnasium.registry:
        from envs.gym_task import GymTask

        return GymTask
    raise UnknownEnvError(
        f"unknown env id {env_id!r} (ours: {', '.join(sorted(_REGISTRY))}; or any registered Gymnasium id)"
    )


def make(env_id: str, **kwargs: Any) -> Task:
    cls = task_class(env_id)
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    if unknown := sorted(set(kwargs) - names):
        raise TypeError(f"env {env_id!r} has no parameter {unknown[0]!r}")
    if "env_id" in names:
        kwargs["env_id"] = env_id
    return cls(**kwargs)
