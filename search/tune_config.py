"""The `evolve tune` configuration: a study's objective, sampler, pruner and search space, read from TOML.

```toml
[tune]
objective = "neat"            # "neat": evaluations to solve the base run's task; "train": a fixed architecture trained
base = "xor.toml"             # the run config every trial starts from (relative to this file)
sampler = "tpe"               # tpe | cmaes | random | nsga2
pruner = "median"             # none | median | halving | hyperband

[params.neat]                 # sampled values replace keys of the base config: here neat.conn_add_prob, ...
conn_add_prob = { low = 0.05, high = 0.8 }
node_add_prob = { low = 0.01, high = 0.3, log = true }
[params.population]
size = { low = 50, high = 300, step = 10 }          # int bounds give an int parameter
[params.neat]
activation_default = { choices = ["tanh", "sigmoid"] }
```
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evolve.config import ConfigError, build_section, load_config, read_toml
from genomes.params import param

SAMPLERS = ("tpe", "cmaes", "random", "nsga2")
PRUNERS = ("none", "median", "halving", "hyperband")
OBJECTIVES = ("neat", "train")
TRAIN_METRICS = ("val_score", "params", "latency_ms")


@dataclass
class TuneSection:
    objective: str = param("neat", choices=OBJECTIVES, doc="neat: mean evaluations to solve the base run's task "
                           "over `seeds` (minimized); train: a fixed architecture's training hyperparameters")
    base: str = param("", doc="run config every trial starts from, relative to this file")
    genome: str = param("", doc="train: the architecture (a genome JSON or run dir; empty: the base config's "
                        "initial genome)")
    sampler: str = param("tpe", choices=SAMPLERS)
    pruner: str = param("median", choices=PRUNERS, doc="stops trials whose intermediate values fall behind")
    objectives: list[str] = param(["val_score"], each_in=TRAIN_METRICS,
                                  doc="train: what to optimize; two or more make a multi-objective study")
    trials: int = param(20, ge=1, le=100_000, doc="trials a `evolve tune` call adds (--trials)")
    workers: int = param(0, ge=0, le=10_000, doc="Ray workers running trials in parallel (0: in this process)")
    address: str = param("", doc="Ray cluster address (empty: an embedded local Ray)")
    num_cpus: float = param(1.0, gt=0.0, doc="CPUs per trial worker")
    num_gpus: float = param(0.0, ge=0.0, doc="GPUs per trial worker")
    seed: int = param(0, ge=0, doc="seed of the sampler and of every trial's runs")
    startup_trials: int = param(10, ge=1, le=100_000, doc="tpe/cmaes: random trials before the model guides sampling "
                                "(Optuna's default 10; with few trials in all, lower it)")
    seeds: list[int] = param([0, 1, 2], doc="neat: the base run's seeds each trial is scored on")
    study: str = param("", doc="study name (--study; empty: the config file's name)")
    storage: str = param("", doc="SQLAlchemy URL (--storage; empty: SQLite study.db in the output directory)")
    max_failures: int = param(3, ge=1, le=1_000, doc="times a trial's worker may die before the study stops")
    heartbeat_seconds: int = param(10, ge=1, le=3600, doc="how often a driver marks its running trials alive; "
                                   "a trial unmarked for three intervals belongs to a dead driver and runs again")


@dataclass
class TuneConfig:
    tune: TuneSection
    space: dict[str, dict[str, Any]]  # "section.key" -> {"low", "high", "log", "step"} or {"choices"}
    base_path: Path
    path: Path
    extra: list[str] = field(default_factory=list)  # fixed `section.key=value` overrides of the base config

    @property
    def study_name(self) -> str:
        return self.tune.study or self.path.stem

    def directions(self) -> list[str]:
        if self.tune.objective == "neat":
            return ["minimize"]
        return ["maximize" if metric == "val_score" else "minimize" for metric in self.tune.objectives]


def load_tune_config(path: Path | str) -> TuneConfig:
    path = Path(path)
    raw = read_toml(path, "tune config")
    if unknown := sorted(set(raw) - {"tune", "params", "set"}):
        raise ConfigError(f"unknown tune config section [{unknown[0]}] (known: tune, params, set)")
    section = build_section("tune", TuneSection, raw.get("tune", {}))
    if not section.base:
        raise ConfigError("tune.base must name the run config the trials start from")
    base_path = (path.parent / section.base).resolve()
    if not base_path.is_file():
        raise ConfigError(f"tune.base: run config not found: {base_path}")
    if section.objective == "neat" and section.objectives != ["val_score"]:
        raise ConfigError("tune.objectives applies to objective 'train'; the neat objective is evaluations to solve")
    if section.objective == "neat" and not section.seeds:
        raise ConfigError("tune.seeds must name at least one seed to score each trial on")
    if section.sampler == "cmaes" and len(section.objectives) > 1:
        raise ConfigError("sampler 'cmaes' optimizes one objective; use 'nsga2' (or tpe/random) for several")
    extra = [f"{sec}.{key}={_toml_value(value)}" for sec, table in raw.get("set", {}).items()
             for key, value in _table(f"set.{sec}", table).items()]
    space = parse_space(raw.get("params", {}))
    if not space:
        raise ConfigError("[params] names no parameter to tune")
    config = TuneConfig(section, space, base_path, path, extra)
    base = base_config(config, {name: example(spec) for name, spec in space.items()})  # every key must exist there
    if section.objective == "train" and base.env.id != "supervised":
        raise ConfigError(f"objective 'train' trains a supervised task's network; tune.base runs env {base.env.id!r}")
    return config


def parse_space(params: Any) -> dict[str, dict[str, Any]]:
    """{"section.key": spec} from [params.<section>] tables of `key = {low, high[, log][, step]}` or `{choices}`."""
    space: dict[str, dict[str, Any]] = {}
    for section, table in _table("params", params).items():
        for key, spec in _table(f"params.{section}", table).items():
            name = f"{section}.{key}"
            if not isinstance(spec, dict):
                raise ConfigError(f"params.{name} must be a table such as {{ low = 0.1, high = 1.0 }}")
            if unknown := sorted(set(spec) - {"low", "high", "log", "step", "choices"}):
                raise ConfigError(f"params.{name}: unknown key {unknown[0]!r}")
            if "choices" in spec:
                if not isinstance(spec["choices"], list) or not spec["choices"] or len(spec) > 1:
                    raise ConfigError(f"params.{name}: choices must be a non-empty list, alone")
            else:
                low, high = spec.get("low"), spec.get("high")
                if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (low, high)):
                    raise ConfigError(f"params.{name} needs numeric low and high (or choices)")
                if not (math.isfinite(low) and math.isfinite(high)):
                    raise ConfigError(f"params.{name}: low and high must be finite numbers")
                step = spec.get("step")
                if step is not None and not (isinstance(step, (int, float)) and not isinstance(step, bool)
                                             and math.isfinite(step) and step > 0):
                    raise ConfigError(f"params.{name}: step must be a positive number, got {step!r}")
                if not low < high:
                    raise ConfigError(f"params.{name}: low must be below high")
                if spec.get("log") and low <= 0:
                    raise ConfigError(f"params.{name}: a log-scaled range must be positive")
            space[name] = spec
    return space


def distributions(space: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Optuna distributions for the space: ints when both bounds are ints, floats otherwise."""
    import optuna.distributions as d

    out: dict[str, Any] = {}
    for name, spec in space.items():
        if "choices" in spec:
            out[name] = d.CategoricalDistribution(spec["choices"])
        elif isinstance(spec["low"], int) and isinstance(spec["high"], int) and not isinstance(spec.get("step"), float):
            out[name] = d.IntDistribution(spec["low"], spec["high"], log=bool(spec.get("log")),
                                          step=int(spec.get("step", 1)))
        else:
            out[name] = d.FloatDistribution(float(spec["low"]), float(spec["high"]), log=bool(spec.get("log")),
                                            step=spec.get("step"))
    return out


def base_config(config: TuneConfig, params: dict[str, Any], extra: list[str] | None = None):
    """The base run config with a trial's parameter values (and further overrides) applied; validated."""
    overrides = [*config.extra, *(f"{k}={_toml_value(v)}" for k, v in params.items()), "run.progress=false",
                 *(extra or [])]
    return load_config(config.base_path, overrides)


def example(spec: dict[str, Any]) -> Any:
    return spec["choices"][0] if "choices" in spec else spec["low"]


def _toml_value(value: Any) -> str:
    import json

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, str)):
        return json.dumps(value)
    return repr(value)


def _table(where: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be a table")
    return value
