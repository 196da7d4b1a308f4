"""A corpus of malformed inputs for the command line, generated from one seed: configs with bad values, damaged
TOML and structure, damaged genome documents, damaged safetensors weights, bad tune configs and hostile paths.

Each case is a command line and the files it needs; `write_corpus` lays them out under a folder and returns the
cases as JSON-ready dicts ({"name", "argv", "cwd"}). `tests/fuzz_driver.py` runs them through `evolve.cli.main`.
"""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import tomli_w

REPO = Path(__file__).resolve().parents[1]

# Values that are wrong for most keys: wrong types, out of range, non-finite, oversized, empty.
BAD_VALUES: list[Any] = [
    -1, 0, -(2**63) - 1, 2**64, 10**30, 1e308, -1e308, math.nan, math.inf, -math.inf, -0.0, 0.5, 1.5, 3.0, "",
    "abc", "x" * 10_000, "💥", [], [1, 2], [math.nan], ["tanh", 3], {}, {"a": 1}, True, False, 2**31, -2**31,
]
RUN_KEYS = {
    "run": ["seed", "generations", "stop_on_solve", "workers", "executor", "address", "chunk_size",
            "keep_checkpoints", "strategy", "random_mutations", "no_such_key"],
    "population": ["size", "no_such_key"],
    "species": ["compatibility_threshold", "target_species", "threshold_step", "threshold_min", "max_stagnation",
                "species_elitism"],
    "reproduction": ["elitism", "survival_threshold", "min_species_size", "interspecies_rate"],
    "islands": ["count", "migration_interval", "migrants", "topology"],
    "ray": ["num_cpus", "num_gpus", "max_attempts", "start_after"],
    "neat": ["num_inputs", "num_outputs", "num_hidden", "feed_forward", "initial_connection",
             "initial_connection_fraction", "activation_default", "activation_options", "aggregation_default",
             "aggregation_options", "weight_init_stdev", "weight_mutate_rate", "weight_mutate_power", "weight_min",
             "weight_max", "bias_init_mean", "bias_min", "bias_max", "conn_add_prob", "node_add_prob",
             "add_connection_attempts", "compatibility_weight", "compatibility_normalize_min", "response_max"],
    "genome": ["kind"],
    "env": ["id", "episodes", "max_steps", "solve_return", "no_such_key"],
    "log": ["tensorboard", "no_such_key"],
}
TUNE_BAD_TABLES: list[Any] = [
    {"low": 1.0, "high": math.inf}, {"low": math.nan, "high": 1.0}, {"low": 2.0, "high": 1.0},
    {"low": 0.0, "high": 1.0, "step": 0.0}, {"low": 0.0, "high": 1.0, "step": -1.0}, {"low": 0.0, "high": 1.0,
                                                                                        "log": True},
    {"choices": []}, {"choices": [1, "a", [2]]}, {"low": "a", "high": "b"}, {}, {"low": 0.1}, 3, "x", [1, 2],
    {"low": 0.0, "high": 1.0, "wat": 1}, {"low": -(10**30), "high": 10**30},
]
TUNE_KEYS: dict[str, list[Any]] = {
    "objective": ["neat", "train", "nope", 3, ""],
    "base": ["xor-defaults.toml", "no-such.toml", "", "/dev/zero", "../../etc/passwd", 7],
    "sampler": ["tpe", "random", "cmaes", "nope", ""],
    "pruner": ["median", "none", "nope"],
    "trials": [0, -1, 10**9, "a"],
    "seeds": [[], [-1], [2**70], "abc", [1.5]],
    "storage": ["notaurl", "postgresql://", "sqlite:////proc/none/x.db", "mysql://u@localhost/db", "x" * 5000],
    "workers": [-1, 10**9, 1.5],
    "heartbeat_seconds": [0, -1, math.inf, math.nan],
    "startup_trials": [0, 10**12],
    "max_failures": [0, 10**6],
}


def _toml(raw: dict[str, Any]) -> bytes:
    return tomli_w.dumps(raw).encode()


class Corpus:
    """Cases written under `root`, each in a folder of its own."""

    def __init__(self, root: Path, seed: int = 0) -> None:
        self.root = root
        self.rng = np.random.default_rng(seed)
        self.cases: list[dict[str, Any]] = []

    def case(self, name: str, argv: list[str], files: dict[str, bytes] | None = None) -> Path:
        folder = self.root / f"{len(self.cases):04d}-{name}"
        folder.mkdir(parents=True)
        for relative, data in (files or {}).items():
            (folder / relative).parent.mkdir(parents=True, exist_ok=True)
            (folder / relative).write_bytes(data)
        self.cases.append({"name": folder.name, "argv": [a.replace("{dir}", str(folder)) for a in argv],
                           "cwd": str(folder)})
        return folder

    def pick(self, items: list[Any]) -> Any:
        return items[int(self.rng.integers(len(items)))]

    # --- run configs -----------------------------------------------------------------------------------------
    def run_case(self, name: str, config: bytes, *extra: str) -> None:
        self.case(name, ["run", "{dir}/config.toml", "--generations", "1", "--workers", "0", "--out", "{dir}/run",
                         "--set", "run.progress=false", *extra], {"config.toml": config})

    def bad_values(self, count: int) -> None:
        bases = {name: tomllib.loads((REPO / "configs" / f"{name}.toml").read_text()) for name in ("xor", "cartpole")}
        for i in range(count):
            base = self.pick(list(bases))
            raw = json.loads(json.dumps(bases[base]))
            for _ in range(1 + int(self.rng.integers(2))):
                section = self.pick(list(RUN_KEYS))
                raw.setdefault(section, {})[self.pick(RUN_KEYS[section])] = self.pick(BAD_VALUES)
            self.run_case(f"value-{base}", _toml(raw))

    def damaged_toml(self, count: int) -> None:
        text = (REPO / "configs" / "xor.toml").read_bytes()
        for i in range(count):
            kind = i % 5
            if kind == 0:
                data = text[: int(self.rng.integers(len(text)))]
            elif kind == 1:
                at = int(self.rng.integers(len(text)))
                data = text[:at] + self.rng.bytes(int(self.rng.integers(1, 8))) + text[at:]
            elif kind == 2:
                data = self.rng.bytes(int(self.rng.integers(0, 400)))
            elif kind == 3:
                data = text + b"\n[run]\nseed = 1\n"  # a table defined twice
            else:
                data = text.replace(b"=", b"", 1 + int(self.rng.integers(3)))
            self.run_case("toml", data)

    def damaged_structure(self) -> None:
        xor = tomllib.loads((REPO / "configs" / "xor.toml").read_text())
        variants: list[dict[str, Any]] = [
            {}, {"env": {}}, {"neat": 3, "env": {"id": "xor"}}, {"nope": {}, "env": {"id": "xor"}},
            {**xor, "cnn": {"width": 8}}, {**xor, "genome": {"kind": "cnn"}}, {**xor, "genome": {"kind": "nope"}},
            {**xor, "env": {"id": "os:system"}}, {**xor, "env": {"id": "json:JSONDecoder"}},
            {**xor, "env": {"id": "no_such_module_xyz:Task"}}, {**xor, "env": {"id": "CartPole-v0"}},
            {**xor, "env": {"id": "ALE/Nope-v5"}}, {**xor, "env": {"id": ":"}}, {**xor, "env": {"id": "a:b:c"}},
            {**xor, "env": {"id": "xor", "rom": "/etc/passwd"}}, {**xor, "env": "xor"}, {**xor, "run": []},
            {**xor, "islands": {"count": 3, "migrants": 1000}}, {**xor, "run": {"executor": "serial", "workers": 2}},
            {**xor, "neat": {"activation_default": "relu", "activation_options": ["tanh"]}},
            {**xor, "neat": {"weight_min": 5.0, "weight_max": -5.0}}, {**xor, "population": {"size": 100_001}},
            {**xor, "reproduction": {"elitism": 10**6}}, {**xor, "neat": {"num_hidden": 9999}},
        ]
        for raw in variants:
            self.run_case("structure", _toml(raw))

    # --- genome documents --------------------------------------------------------------------------------------
    def genomes(self, genome: dict[str, Any], count: int) -> None:
        text = json.dumps(genome).encode()
        fields = [("num_inputs",), ("num_outputs",), ("feed_forward",), ("schema",), ("version",), ("nodes",),
                  ("connections",), *[("nodes", k) for k in ("key", "bias", "response", "activation", "aggregation")],
                  *[("connections", k) for k in ("innovation", "source", "target", "weight", "enabled")]]
        commands = [["inspect", "{dir}/g.json"], ["inspect", "{dir}/g.json", "-o", "{dir}/g.svg"],
                    ["export", "{dir}/g.json", "--format", "json", "-o", "{dir}/x.json"],
                    ["export", "{dir}/g.json", "--format", "torchscript", "-o", "{dir}/x.pt"]]
        for i in range(count):
            kind = i % 4
            if kind == 0:
                data = text[: int(self.rng.integers(len(text)))]
            elif kind == 1:
                doc = json.loads(text)
                path = self.pick(fields)
                target = doc if len(path) == 1 else doc[path[0]]
                value = self.pick(BAD_VALUES)
                if isinstance(target.get(path[-1]), list) and target[path[-1]] and self.rng.random() < 0.6:
                    target[path[-1]][int(self.rng.integers(len(target[path[-1]])))] = value
                else:
                    target[path[-1]] = value
                data = json.dumps(doc).replace("NaN", self.pick(["NaN", "Infinity", "1e999"])).encode()
            elif kind == 2:
                doc = json.loads(text)
                doc[self.pick(["nodes", "connections"])].pop(self.pick(["key", "innovation", "weight", "source"]),
                                                              None)
                data = json.dumps(doc).encode()
            else:
                data = self.pick([b"", b"null", b"[]", b'"genome"', b"[" * 50_000, b'{"genome": {"genome": 1}}',
                                  b'{"schema": "neat-genome", "version": 1, "num_inputs": ' + b"9" * 5000 + b"}",
                                  b"\xff\xfe\x00", json.dumps({"genome": genome, "weights": "../w"}).encode(),
                                  json.dumps({"genome": genome, "weights": "/etc/passwd"}).encode()])
            self.case("genome", self.pick(commands), {"g.json": data})

    def weights(self, genome: dict[str, Any], weights: bytes, count: int) -> None:
        best = json.dumps({"genome": genome, "weights": "w.safetensors"}).encode()
        header = int.from_bytes(weights[:8], "little")
        for i in range(count):
            kind = i % 6
            if kind == 0:
                data = weights[: int(self.rng.integers(len(weights)))]
            elif kind == 1:
                at = int(self.rng.integers(8, 8 + header))
                data = weights[:at] + self.rng.bytes(1 + int(self.rng.integers(4))) + weights[at + 1:]
            elif kind == 2:
                data = int(self.rng.integers(0, 2**63)).to_bytes(8, "little") + weights[8:]
            elif kind == 3:
                data = weights[:8] + weights[8:8 + header].replace(b"F32", b"F64", 1) + weights[8 + header:]
            elif kind == 4:
                data = weights[:8] + weights[8:8 + header].replace(b"shape", b"shapf", 1) + weights[8 + header:]
            else:
                data = self.pick([b"", b"\x00" * 8, self.rng.bytes(200), weights + self.rng.bytes(16)])
            fmt = self.pick(["torchscript", "onnx"])
            self.case("weights", ["export", "{dir}/best.json", "--format", fmt, "-o", "{dir}/out." + fmt],
                      {"best.json": best, "w.safetensors": data})

    # --- tune configs ------------------------------------------------------------------------------------------
    def tune(self, count: int) -> None:
        base = tomllib.loads((REPO / "configs" / "tune-xor-neat.toml").read_text())
        base["tune"]["base"] = str(REPO / "configs" / "xor-defaults.toml")
        base["tune"]["seeds"] = [0]
        base["set"] = {"run": {"generations": 2}}
        for i in range(count):
            raw = json.loads(json.dumps(base))
            if i % 2:
                key = self.pick(list(TUNE_KEYS))
                value = self.pick(TUNE_KEYS[key])
                if key == "base" and isinstance(value, str) and value.endswith(".toml") and "/" not in value:
                    value = str(REPO / "configs" / value)
                raw["tune"][key] = value
            else:
                section = self.pick(["neat", "species", "nope"])
                raw.setdefault("params", {}).setdefault(section, {})[self.pick(
                    ["conn_add_prob", "target_species", "weight_min", "nope"])] = self.pick(TUNE_BAD_TABLES)
            self.case("tune", ["tune", "{dir}/tune.toml", "--trials", "1", "--out", "{dir}/out"],
                      {"tune.toml": _toml(raw)})

    # --- paths -------------------------------------------------------------------------------------------------
    def paths(self, genome: dict[str, Any]) -> None:
        xor = str(REPO / "configs" / "xor.toml")
        run = ["run", xor, "--generations", "1", "--workers", "0", "--set", "run.progress=false", "--out"]
        for out in ["{dir}/file", "{dir}/file/sub", "{dir}/full", "/sys/evolve-fuzz", "/proc/evolve-fuzz",
                    "/dev/null", "/dev/null/x", "{dir}/" + "n" * 300, "{dir}/a\nb", " ", "{dir}/full/.."]:
            self.case("out-run", [*run, out], {"file": b"mine", "full/keep.txt": b"mine"})
            self.case("out-tune", ["tune", str(REPO / "configs" / "tune-xor-neat.toml"), "--trials", "1", "--out",
                                   out], {"file": b"mine", "full/keep.txt": b"mine"})
        for path in ["/dev/zero", "/dev/null", "/", "{dir}", "{dir}/none.toml", "/etc/passwd", "/proc/self/mem",
                     "{dir}/" + "n" * 300]:
            self.case("config-path", ["run", path, "--generations", "1", "--workers", "0"])
            self.case("genome-path", ["inspect", path])
            self.case("resume-path", ["resume", path, "--generations", "1"])
        for output in ["{dir}/g.bmp", "{dir}/none/g.svg", "/sys/g.svg", "{dir}", "{dir}/g.json"]:
            self.case("render-output", ["inspect", "{dir}/g.json", "-o", output], {"g.json": json.dumps(genome).encode()})


def write_corpus(root: Path, genome: dict[str, Any], cell_genome: dict[str, Any], weights: bytes,
                 seed: int = 0) -> list[dict[str, Any]]:
    """Lay out the whole corpus under `root` (a NEAT genome document, a cell genome document and its safetensors
    weights are the seeds of the damaged files); returns its cases."""
    corpus = Corpus(root, seed)
    corpus.bad_values(200)
    corpus.damaged_toml(40)
    corpus.damaged_structure()
    corpus.genomes(genome, 120)
    corpus.weights(cell_genome, weights, 48)
    corpus.tune(60)
    corpus.paths(genome)
    return corpus.cases
