"""Tasks are frozen settings; their live resources live apart, per process, shared by equal settings."""

from __future__ import annotations

import dataclasses

import pytest

from envs import live
from envs.gym_task import GymTask
from envs.registry import make


def test_equal_settings_share_their_environment_and_tasks_are_frozen():
    first, second = GymTask("CartPole-v1", episodes=3), make("CartPole-v1", episodes=3)
    assert first == second and first.env is second.env
    assert GymTask("CartPole-v1", episodes=4).env is not first.env
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.episodes = 5
    assert "env" not in vars(first), "the environment is not part of the task object"


def test_the_least_recently_used_settings_drop_their_resources(monkeypatch):
    monkeypatch.setattr(live, "_STORES", type(live._STORES)())
    tasks = [GymTask("CartPole-v1", episodes=e) for e in range(1, live.MAX_TASKS + 2)]
    envs = [task.env for task in tasks]
    assert len(live._STORES) == live.MAX_TASKS
    assert tasks[-1].env is envs[-1] and tasks[0].env is not envs[0]  # the first was dropped and is built anew
