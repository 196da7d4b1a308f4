"""Task ids: `make(env_id, **kwargs)` resolves an id the same way in every process (driver, Ray evaluators, tuning
workers), so a run's config names its task and any process can build it.

An id is, in this order:
- one of ours (`xor`, `dpv`, `dpnv`, `mario`, `atari`, `supervised`) or one `register`ed in this process;
- `"package.module:Name"`: `Name` in that module, a Task subclass or a factory returning a Task (the module is
  imported, as Gymnasium's `make` does for such ids); when the module defines no `Name` but registers a Gymnasium
  environment of that id on import, the Gymnasium task of it;
- a plugin: an entry point named `env_id` in the group `evolve.tasks` of an installed distribution;
- any registered Gymnasium id, wrapped as an episodic control task (`envs.gym_task.GymTask`).

Modules are imported only when their id is used.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import inspect
import sys
from typing import Any

from envs.task import Task

_REGISTRY: dict[str, str] = {
    "xor": "envs.xor:XorTask",
    "dpv": "envs.double_pole_tasks:DoublePoleVelocityTask",
    "dpnv": "envs.double_pole_tasks:DoublePoleNoVelocityTask",
    "mario": "envs.mario_task:MarioTask",
    "atari": "envs.atari:AtariTask",
    "supervised": "envs.supervised_task:SupervisedTask",
    "CartPole-v1": "envs.gym_task:GymTask",  # Gymnasium's id, run on envs.cartpole without importing Gymnasium
}
ENTRY_POINT_GROUP = "evolve.tasks"


class UnknownEnvError(ValueError):
    pass


def register(env_id: str, entry_point: str) -> None:
    """Register `env_id` as "module:Name" in this process (other processes resolve "module:Name" ids directly)."""
    _REGISTRY[env_id] = entry_point


def registered_ids() -> list[str]:
    return sorted(_REGISTRY)


def task_class(env_id: str) -> Any:
    """The Task class (or factory) implementing env_id (GymTask for Gymnasium ids); raises UnknownEnvError."""
    if env_id in _REGISTRY:
        return _load(_REGISTRY[env_id], env_id)
    if ":" in env_id:
        found = _load(env_id, env_id)
        if found is not None:
            return found
        return _gym_task(env_id)
    if (point := _published_tasks(tuple(sys.path)).get(env_id)) is not None:
        return _checked(point.load(), env_id)
    return _gym_task(env_id)


@functools.lru_cache(maxsize=4)
def _published_tasks(path: tuple[str, ...]) -> dict[str, Any]:
    """The `evolve.tasks` entry points of the distributions on `path`, by name: scanned once per import path (a run
    resolves its id several times)."""
    from importlib.metadata import entry_points

    return {point.name: point for point in entry_points(group=ENTRY_POINT_GROUP)}


def make(env_id: str, **kwargs: Any) -> Task:
    """The task `env_id` names, built with its `[env]` settings."""
    factory = task_class(env_id)
    if dataclasses.is_dataclass(factory):
        names = {f.name for f in dataclasses.fields(factory) if f.init}
        if unknown := sorted(set(kwargs) - names):
            raise TypeError(f"env {env_id!r} has no parameter {unknown[0]!r}")
        if "env_id" in names:
            kwargs["env_id"] = env_id
    else:
        try:
            inspect.signature(factory).bind(**kwargs)
        except TypeError as exc:
            raise TypeError(f"env {env_id!r}: {exc}") from None
    task = factory(**kwargs)
    if not isinstance(task, Task):
        raise UnknownEnvError(f"env {env_id!r} made a {type(task).__name__}, not an evolve.Task")
    return task


def _load(entry_point: str, env_id: str) -> Any:
    """The object "module:Name" names (None when the module has no such name); a module that cannot be imported
    is an UnknownEnvError naming it."""
    module_name, _, name = entry_point.partition(":")
    if not module_name.strip() or not name.strip():
        raise UnknownEnvError(f"env {env_id!r}: a task id by module is \"module:Name\", with both parts")
    try:
        module = importlib.import_module(module_name)
    except (ImportError, ValueError, TypeError) as exc:  # ValueError: a relative or malformed module name
        raise UnknownEnvError(f"env {env_id!r}: cannot import module {module_name!r} ({exc})") from None
    found = module
    for part in name.split("."):
        found = getattr(found, part, None)
        if found is None:
            return None
    return _checked(found, env_id)


def _checked(found: Any, env_id: str) -> Any:
    if isinstance(found, type) and not issubclass(found, Task):
        raise UnknownEnvError(f"env {env_id!r} names {found.__name__}, which is not a subclass of evolve.Task")
    if not callable(found):
        raise UnknownEnvError(f"env {env_id!r} names a {type(found).__name__}, not a Task class or factory")
    return found


def _gym_task(env_id: str) -> type:
    import gymnasium

    importlib.import_module("envs.double_pole_env")  # registers our own Gymnasium ids (DoublePole-v0, ...)

    if env_id.rpartition(":")[2] in gymnasium.registry:  # gymnasium.make imports the module of a "module:Id" id
        from envs.gym_task import GymTask

        return GymTask
    raise UnknownEnvError(
        f"unknown env id {env_id!r} (ours: {', '.join(sorted(_REGISTRY))}; \"package.module:Name\" for a Task of "
        "your own; or any registered Gymnasium id)"
    )
