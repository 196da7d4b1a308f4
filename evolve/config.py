"""Run configuration: TOML in, typed and validated sections out, resolved TOML back into the run directory.

Sections are the dataclasses that own the parameters ([neat] is NeatGenomeConfig, [env] the task's own fields).
Every problem is reported as one ConfigError line naming the key, e.g. `population.size must be >= 2, got -3`.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from envs.registry import UnknownEnvError, task_class
from evolve.neat_params import ReproductionConfig, SpeciesConfig
from evolve.strategies import STRATEGIES
from genomes.kinds import KINDS
from genomes.params import param


class ConfigError(ValueError):
    """Bad configuration input; the message is one line meant for the user."""


MAX_INT = 2**63 - 1
MAX_POPULATION = 100_000  # genomes of a generation, all islands together: one generation of 100,000 XOR genomes
# already takes 2 GB and a minute on a 2-core machine (each genome is its own object)
MAX_INITIAL_GENES = 2_000_000  # nodes and connections of a generation's initial genomes, all together
MAX_ISLANDS = 1_000
MAX_TOML_BYTES = 1 << 20  # a config file is a few kilobytes


@dataclass
class RunSection:
    seed: int = param(0, ge=0)
    generations: int = param(100, ge=1, doc="stop after this many generations in total")
    stop_on_solve: bool = param(True)
    workers: int = param(-1, ge=-1, doc="-1: one evaluator per CPU, through `executor`; 0: serial in-process; N: Ray, "
                         "N evaluators")
    executor: str = param("auto", choices=("auto", "serial", "ray"), doc="with workers = -1 and no address: auto "
                          "evaluates in this process and moves to an embedded Ray once evaluation is slow enough to pay "
                          "for it (ray.start_after); serial never starts Ray; ray always does")
    address: str = param("", doc="Ray cluster address (empty: an embedded local Ray)")
    chunk_size: int = param(
        0, ge=0, doc="genomes per evaluation chunk, the unit of batching, scheduling and retry (0: a quarter of the "
        "population, whatever the executor, so results never depend on it)"
    )
    keep_checkpoints: int = param(3, ge=1, doc="checkpoints kept in checkpoints/ (the newest)")
    checkpoint_seconds: float = param(5.0, ge=0.0, doc="write a checkpoint when this many seconds have passed since the "
                                      "last one, and always for the last generation (also when interrupted); a hard "
                                      "crash loses at most this much work, redone exactly on resume (0: every "
                                      "generation)")
    progress: bool = param(True, doc="show progress on stderr (see log_format)")
    log_format: str = param("auto", choices=("auto", "bar", "plain", "json"), doc="progress on stderr: a bar, one "
                            "plain or JSON line per generation; auto: a bar on a terminal, plain lines otherwise")
    strategy: str = param("neat", choices=tuple(STRATEGIES), doc="neat: speciated evolution; random: random search "
                          "(every generation fresh genomes, each the initial one after random mutations)")
    random_mutations: int = param(8, ge=0, doc="mutations applied to the initial genome per random-search sample")


@dataclass
class GenomeSection:
    kind: str = param("neat", choices=tuple(KINDS), doc="; ".join(
        f"{k.name}: {k.doc} ([{k.name}])" for k in KINDS.values()))


@dataclass
class RaySection:
    """Resources of each evaluator actor, and how often a chunk may lose its worker."""

    num_cpus: float = param(1.0, gt=0.0, doc="CPUs reserved per evaluator")
    num_gpus: float = param(0.0, ge=0.0, doc="GPUs per evaluator (fractional shares a GPU); >0 evaluates on CUDA")
    max_attempts: int = param(4, ge=1, doc="times a chunk may lose its worker before the run stops")
    start_after: float = param(3.0, ge=0.0, le=86_400.0, doc="executor auto: seconds of in-process evaluation of "
                               "generations with several chunks after which an embedded Ray starts in the background "
                               "(it takes over at the next chunk once its evaluators are ready)")


@dataclass
class IslandsSection:
    """The island model: `count` populations of `population.size` each, exchanging migrants every epoch."""

    count: int = param(1, ge=1, le=MAX_ISLANDS, doc="populations (1: a single population, no islands)")
    migration_interval: int = param(10, ge=1, doc="generations between migrations")
    migrants: int = param(2, ge=0, doc="best genomes each island sends per migration")
    topology: str = param("ring", choices=("ring", "random"), doc="ring: to the next island; random: to another")


@dataclass
class LogSection:
    """Where a run's figures go besides its run directory (Runner callbacks; off by default, no import when off)."""

    tensorboard: bool = param(False, doc="write TensorBoard scalars and histograms under RUN/tensorboard (needs the "
                              "tensorboard package: pip install tensorboard)")
    mlflow: bool = param(False, doc="log the config as parameters and every generation's figures as metrics to an "
                         "MLflow run (needs mlflow: pip install mlflow-skinny)")
    mlflow_tracking_uri: str = param("", doc="MLflow tracking URI, e.g. sqlite:///mlflow.db or http://host:5000 "
                                     "(empty: MLflow's own default, or MLFLOW_TRACKING_URI)")
    mlflow_experiment: str = param("evolve", doc="MLflow experiment the run is logged under (created if missing)")


@dataclass
class PopulationSection:
    size: int = param(150, ge=2, le=MAX_POPULATION)


@dataclass
class EnvSection:
    """The task: an id any process resolves (`envs.registry`) with its settings, or a Task object given to
    `evolve.run` (then `id` only names it, and the object itself travels to the workers)."""

    id: str = "xor"
    kwargs: dict[str, Any] = field(default_factory=dict)
    task: Any = field(default=None, repr=False, compare=False)

    def to_toml(self) -> dict[str, Any]:
        return {"id": self.id, **self.kwargs}

    def source(self) -> Any:
        """What evaluation ships: the Task object, or the spec {"id", "kwargs"} each process resolves."""
        return self.task if self.task is not None else {"id": self.id, "kwargs": dict(self.kwargs)}

    def make(self) -> Any:
        """This process's task."""
        if self.task is not None:
            return self.task
        from envs.registry import make

        return make(self.id, **self.kwargs)


OBJECT_ID_PREFIXES = ("function:", "object:")  # env ids that name a Task object rather than resolve to one


def object_task_id(task: Any) -> str:
    """The env id recorded for a Task object: `function:<name>` for a FunctionTask, else `object:<class>`."""
    from envs.function_task import FunctionTask

    if isinstance(task, FunctionTask):
        return f"function:{getattr(task.fitness, '__module__', '?')}.{task.name}"
    cls = type(task)
    return f"object:{cls.__module__}.{cls.__qualname__}"


@dataclass
class RunConfig:
    run: RunSection = field(default_factory=RunSection)
    ray: RaySection = field(default_factory=RaySection)
    islands: IslandsSection = field(default_factory=IslandsSection)
    population: PopulationSection = field(default_factory=PopulationSection)
    genome: GenomeSection = field(default_factory=GenomeSection)
    species: SpeciesConfig = field(default_factory=SpeciesConfig)
    reproduction: ReproductionConfig = field(default_factory=ReproductionConfig)
    log: LogSection = field(default_factory=LogSection)
    env: EnvSection = field(default_factory=EnvSection)
    genome_config: Any = None  # the section named after genome.kind ([neat], [cnn], [rnn]: genomes.kinds)

    def __post_init__(self) -> None:
        if self.genome_config is None:
            self.genome_config = KINDS[self.genome.kind].config_class()()

    def __getattr__(self, name: str) -> Any:
        """`config.neat` (or the name of whichever kind is in use) is its section."""
        if name in KINDS and "genome" in self.__dict__ and name == self.genome.kind:
            return self.__dict__["genome_config"]
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def chunk_size(self) -> int:
        """Genomes per evaluation chunk: `run.chunk_size`, or a quarter of the population (rounded up)."""
        return self.run.chunk_size or -(-self.population.size // 4)

    def family_config(self) -> Any:
        """The config section of the genome kind in use ([neat], [cnn] or [rnn])."""
        return self.genome_config

    def to_toml(self) -> str:
        data: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            if f.name == "genome_config":
                continue
            section = getattr(self, f.name)
            data[f.name] = section.to_toml() if isinstance(section, EnvSection) else _as_dict(section)
            if f.name == "genome":  # only the genome kind in use is part of the resolved config
                data[self.genome.kind] = _as_dict(self.genome_config)
        return tomli_w.dumps(data)


SECTIONS: dict[str, type] = {
    "run": RunSection,
    "ray": RaySection,
    "islands": IslandsSection,
    "population": PopulationSection,
    "genome": GenomeSection,
    "species": SpeciesConfig,
    "reproduction": ReproductionConfig,
    "log": LogSection,
}


def check_folder_path(path: Path, what: str) -> None:
    """A ConfigError when `path`, a folder a command would write into, is a file or lies under one."""
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{path} is a file, not {what}")
    for parent in path.parents:
        if parent.exists() and not parent.is_dir():
            raise ConfigError(f"{path}: {parent} is a file, not a folder")


def read_toml(path: Path, what: str = "config") -> dict[str, Any]:
    """A TOML file's tables; a missing file or invalid TOML is a ConfigError naming the file."""
    if not path.is_file():
        raise ConfigError(f"{path} is not a regular file" if path.exists() else f"{what} file not found: {path}")
    if (size := path.stat().st_size) > MAX_TOML_BYTES:
        raise ConfigError(f"{path}: {size:,} bytes is too big for a {what} file (at most {MAX_TOML_BYTES:,})")
    try:
        return tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the {what} file ({exc.strerror or exc})") from None


def load_config(path: Path | str, overrides: list[str] | None = None) -> RunConfig:
    raw = read_toml(Path(path))
    for item in overrides or []:
        apply_override(raw, item)
    return parse_config(raw)


def apply_override(raw: dict[str, Any], item: str) -> None:
    """Apply `section.key=value`; the value is read as a TOML value, or taken as a bare string."""
    key, sep, text = item.partition("=")
    section, dot, name = key.strip().partition(".")
    if not sep or not dot or not section or not name:
        raise ConfigError(f"--set expects section.key=value, got {item!r}")
    try:
        value = tomllib.loads(f"v = {text.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = text.strip()
    set_key(raw, section, name, value)


def set_key(raw: dict[str, Any], section: str, name: str, value: Any) -> None:
    """raw[section][name] = value, creating the section; a section that is not a table is a ConfigError."""
    target = raw.setdefault(section, {})
    if not isinstance(target, dict):
        raise ConfigError(f"{section} is not a section")
    target[name] = value


def parse_config(raw: dict[str, Any], task: Any = None) -> RunConfig:
    """A validated config from TOML tables; `task` (a Task object) replaces the [env] section's task."""
    if unknown := sorted(set(raw) - set(SECTIONS) - set(KINDS) - {"env"}):
        raise ConfigError(f"unknown config section [{unknown[0]}] (known: {', '.join([*SECTIONS, *KINDS, 'env'])})")
    sections = {}
    for name, cls in SECTIONS.items():
        table = raw.get(name, {})
        if not isinstance(table, dict):
            raise ConfigError(f"{name} must be a table")
        sections[name] = build_section(name, cls, table)
    kind = sections["genome"].kind
    if stray := [name for name in KINDS if name != kind and name in raw]:
        raise ConfigError(f"section [{stray[0]}] configures genome.kind = {stray[0]!r}, but genome.kind is {kind!r}")
    table = raw.get(kind, {})
    if not isinstance(table, dict):
        raise ConfigError(f"{kind} must be a table")
    genome_config = build_section(kind, KINDS[kind].config_class(), table)
    env = _parse_env(raw.get("env", {}), task)
    config = RunConfig(env=env, genome_config=genome_config, **sections)
    _fit_to_task(config, raw.get(kind, {}))
    _check_consistency(config)
    return config


def _fit_to_task(config: RunConfig, table: dict[str, Any]) -> None:
    """Take the network's input and output shape from the task; an explicit different value is an error."""
    task = config.env.make()
    kind = config.genome.kind
    kinds = task.genome_kinds
    if kind not in kinds:
        raise ConfigError(f"env {config.env.id!r} evaluates genome.kind {' or '.join(map(repr, kinds))}, not {kind!r}")
    shape = KINDS[kind].shape(task)
    section = config.family_config()
    for key, value in shape.items():
        if key in table and table[key] != value:
            raise ConfigError(f"{kind}.{key} = {table[key]} does not match env {config.env.id!r}, which has {value}")
        setattr(section, key, value)


def build_section(name: str, cls: type, table: dict[str, Any]) -> Any:
    """Validate a TOML table against a dataclass declared with `param` fields and build it."""
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init and not f.name.startswith("_")}
    if unknown := sorted(set(table) - set(fields)):
        import difflib

        close = difflib.get_close_matches(unknown[0], fields, n=1)
        hint = f" (did you mean {name}.{close[0]}?)" if close else f" ({name} has {', '.join(sorted(fields))})"
        raise ConfigError(f"unknown key {name}.{unknown[0]}{hint}")
    hints = typing.get_type_hints(cls)
    values = {key: _check_value(f"{name}.{key}", value, hints[key], fields[key].metadata)
              for key, value in table.items()}
    try:
        return cls(**values)
    except ValueError as exc:  # a check across fields in the section's __post_init__
        raise ConfigError(f"{name}: {exc}") from None


def _check_value(where: str, value: Any, hint: Any, meta: Any) -> Any:
    value = _check_type(where, value, hint)
    if isinstance(value, float) and not math.isfinite(value) and meta.get("finite", True):
        raise ConfigError(f"{where} must be a finite number, got {value}")
    if isinstance(value, int) and not isinstance(value, bool) and not -MAX_INT <= value <= MAX_INT:
        raise ConfigError(f"{where} must fit in 64 bits (|value| < 2**63), got {value}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if meta.get("ge") is not None and not value >= meta["ge"]:
            raise ConfigError(f"{where} must be >= {meta['ge']}, got {value}")
        if meta.get("gt") is not None and not value > meta["gt"]:
            raise ConfigError(f"{where} must be > {meta['gt']}, got {value}")
        if meta.get("le") is not None and not value <= meta["le"]:
            raise ConfigError(f"{where} must be <= {meta['le']}, got {value}")
    if meta.get("choices") is not None and value not in meta["choices"]:
        raise ConfigError(f"{where} must be one of {', '.join(map(str, meta['choices']))}; got {value!r}")
    if meta.get("each_in") is not None:
        if bad := [v for v in value if v not in meta["each_in"]]:
            raise ConfigError(f"{where}: unknown value {bad[0]!r} (allowed: {', '.join(meta['each_in'])})")
    return value


def _check_type(where: str, value: Any, hint: Any) -> Any:
    origin = typing.get_origin(hint)
    if hint is bool:
        ok = isinstance(value, bool)
    elif hint is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif hint is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif hint is str:
        ok = isinstance(value, str)
    elif origin is list:
        (item,) = typing.get_args(hint)
        ok = isinstance(value, list)
        value = [_check_type(f"{where}[{i}]", v, item) for i, v in enumerate(value)] if ok else value
    else:
        ok = True
    if not ok:
        name = f"list of {typing.get_args(hint)[0].__name__}" if origin is list else hint.__name__
        article = "an" if name[0] in "aeiou" else "a"
        raise ConfigError(f"{where} must be {article} {name}, got {type(value).__name__} {value!r}")
    return value


def _parse_env(table: Any, task: Any = None) -> EnvSection:
    from envs.task import Task

    if not isinstance(table, dict):
        raise ConfigError("env must be a table")
    if task is not None:
        if not isinstance(task, Task):
            raise ConfigError(f"task must be an evolve.Task (or a Task class), got {type(task).__name__}")
        return EnvSection(id=object_task_id(task), task=task)
    if "id" not in table:
        raise ConfigError('env.id is missing: name the task, e.g. [env] id = "xor" (or pass task= to evolve.run)')
    env_id = table["id"]
    if not isinstance(env_id, str):
        raise ConfigError(f"env.id must be a str, got {env_id!r}")
    if env_id.startswith(OBJECT_ID_PREFIXES):
        raise ConfigError(f"env.id {env_id!r} names a task object given to evolve.run; pass the task again "
                          "(evolve.run(..., task=...) or evolve.resume(run_dir, task=...))")
    try:
        cls = task_class(env_id)
    except UnknownEnvError as exc:
        raise ConfigError(str(exc)) from None
    kwargs = {k: v for k, v in table.items() if k != "id"}
    if not dataclasses.is_dataclass(cls):  # a factory: its keyword arguments are the settings, checked when called
        try:
            config_task = cls(**kwargs)
        except TypeError as exc:
            raise ConfigError(f"env {env_id!r}: {exc}") from None
        if not isinstance(config_task, Task):
            raise ConfigError(f"env {env_id!r} does not make an evolve.Task")
        return EnvSection(id=env_id, kwargs=kwargs)
    section = build_section("env", cls, kwargs)
    # Every parameter, defaults included, so the resolved config states the whole protocol (frame skip, ...).
    names = [f.name for f in dataclasses.fields(cls) if f.init and not f.name.startswith("_") and f.name != "env_id"]
    return EnvSection(id=env_id, kwargs={k: getattr(section, k) for k in names})


def _check_consistency(config: RunConfig) -> None:
    if config.genome.kind == "neat":
        neat = config.genome_config
        for lo, hi in (("weight_min", "weight_max"), ("bias_min", "bias_max"), ("response_min", "response_max")):
            if getattr(neat, lo) > getattr(neat, hi):
                raise ConfigError(f"neat.{lo} must not exceed neat.{hi}")
        for what in ("activation", "aggregation"):
            options, default = getattr(neat, f"{what}_options"), getattr(neat, f"{what}_default")
            if not options:
                raise ConfigError(f"neat.{what}_options must name at least one {what}")
            if default not in options:
                raise ConfigError(f"neat.{what}_default {default!r} is not among neat.{what}_options {options}")
    if config.run.workers == 0 and config.run.address:
        raise ConfigError("run.address joins a Ray cluster, which run.workers = 0 (serial) does not use")
    if config.run.executor == "serial" and (config.run.workers > 0 or config.run.address):
        raise ConfigError("run.executor = 'serial' evaluates in this process: it takes no run.workers or run.address")
    if config.islands.count > 1 and config.genome.kind != "neat":
        raise ConfigError("islands re-mark migrants' NEAT innovations: islands.count > 1 needs genome.kind = 'neat'")
    genomes = config.population.size * config.islands.count
    if genomes > MAX_POPULATION:
        raise ConfigError(f"population.size x islands.count = {genomes:,} genomes per generation; at most "
                          f"{MAX_POPULATION:,} fit in memory")
    if config.genome.kind == "neat" and (genes := genomes * config.genome_config.initial_genes()) > MAX_INITIAL_GENES:
        raise ConfigError(f"the initial population would hold {genes:,} genes (population.size x islands.count x the "
                          f"nodes and connections of one initial genome); at most {MAX_INITIAL_GENES:,}")
    if config.islands.migrants > config.population.size:
        raise ConfigError("islands.migrants must not exceed population.size")
    if config.reproduction.min_species_size > config.population.size:
        raise ConfigError("reproduction.min_species_size must not exceed population.size")
    if config.reproduction.elitism > config.population.size:
        raise ConfigError("reproduction.elitism must not exceed population.size")


def _as_dict(section: Any) -> dict[str, Any]:
    return {f.name: getattr(section, f.name) for f in dataclasses.fields(section) if f.init}
