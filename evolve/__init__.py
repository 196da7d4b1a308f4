"""evolve: NEAT, cell architecture search and Optuna tuning on Ray, as a library and a command line.

    import evolve

    def parity(net):                       # a fitness function of your own
        bits = np.array(list(itertools.product([0, 1], repeat=3)), dtype=float)
        error = np.abs(net(bits)[:, 0] - bits.sum(axis=1) % 2)
        return float(8 - error.sum())

    result = evolve.run("configs/xor.toml", task=evolve.FunctionTask(parity, 3, 1, solve_fitness=7.5))

The names below are the public API; everything is imported on first use, so `import evolve` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "run": "evolve.api",
    "resume": "evolve.api",
    "RunResult": "evolve.api",
    "load_genome": "evolve.api",
    "genome_from_dict": "evolve.api",
    "Task": "envs.task",
    "EvalResult": "envs.task",
    "FunctionTask": "envs.function_task",
    "register": "envs.registry",
    "Callback": "evolve.callbacks",
    "GenerationRecord": "evolve.callbacks",
    "Termination": "evolve.callbacks",
    "FreezeHeap": "evolve.process_tuning",
    "RunConfig": "evolve.config",
    "load_config": "evolve.config",
    "ConfigError": "evolve.config",
    "Runner": "evolve.runner",
    "Strategy": "evolve.strategy",
    "StrategyState": "evolve.strategy",
    "Population": "evolve.strategy",
    "Evaluations": "evolve.strategy",
    "inspect_genome": "evolve.genome_tools",
    "render_genome": "evolve.genome_tools",
    "export_genome": "evolve.genome_tools",
}
__all__ = [
    "Callback",
    "ConfigError",
    "EvalResult",
    "Evaluations",
    "FreezeHeap",
    "FunctionTask",
    "GenerationRecord",
    "Population",
    "RunConfig",
    "RunResult",
    "Runner",
    "Strategy",
    "StrategyState",
    "Task",
    "Termination",
    "export_genome",
    "genome_from_dict",
    "inspect_genome",
    "load_config",
    "load_genome",
    "register",
    "render_genome",
    "resume",
    "run",
]

if TYPE_CHECKING:
    from envs.function_task import FunctionTask
    from envs.registry import register
    from envs.task import EvalResult, Task
    from evolve.api import RunResult, genome_from_dict, load_genome, resume, run
    from evolve.callbacks import Callback, GenerationRecord, Termination
    from evolve.config import ConfigError, RunConfig, load_config
    from evolve.genome_tools import export_genome, inspect_genome, render_genome
    from evolve.process_tuning import FreezeHeap
    from evolve.runner import Runner
    from evolve.strategy import Evaluations, Population, Strategy, StrategyState


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'evolve' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
