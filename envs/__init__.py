"""Task registry: classic NEAT tasks, Gymnasium ids, (later) Mario, Atari and supervised data."""

from envs.registry import make, register, registered_ids
from envs.task import EvalResult, Task

__all__ = ["EvalResult", "Task", "make", "register", "registered_ids"]
