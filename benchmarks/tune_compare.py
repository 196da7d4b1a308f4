"""Optuna benchmarks: TPE against random sampling at an equal number of trials, and tuned NEAT against its defaults.

    python benchmarks/tune_compare.py samplers [--config configs/tune-train-digits-rows.toml] [--trials 12] \\
        [--seeds 3] [--startup 5] [--pruner none] [--workers 0] [--json]
    python benchmarks/tune_compare.py neat [--config configs/tune-xor-neat.toml] [--trials 30] \\
        [--test-seeds 50] [--jobs 2] [--json]

samplers: for each seed, one study per sampler with the same trials and the same (sampler) seed; TPE's first
--startup trials are random (the same draws as the random sampler's), the rest model-guided; reported is the
median over seeds of each study's best value. neat: one study tunes the base config's parameters on the tune
config's own seeds, then the best parameters and the base config's defaults are both run on --test-seeds fresh
seeds (0, 1, ... : never seen while tuning), reporting solved runs and mean evaluations to solve. With --json the
last stdout line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.neat_seeds import one_seed  # noqa: E402
from search.tune import tune  # noqa: E402
from search.tune_config import _toml_value, load_tune_config  # noqa: E402


def samplers(args: argparse.Namespace, scratch: Path) -> dict:
    rows = []
    for seed in range(args.seeds):
        for sampler in ("tpe", "random"):
            config = load_tune_config(args.config)
            config.tune.sampler, config.tune.seed, config.tune.workers = sampler, seed, args.workers
            config.tune.startup_trials = args.startup
            config.tune.pruner = args.pruner or config.tune.pruner
            started = time.perf_counter()
            best = tune(config, scratch / f"{sampler}-{seed}", trials=args.trials, study_name=f"{sampler}-{seed}")
            rows.append({"sampler": sampler, "seed": seed, "best_value": best["best_value"],
                         "best_params": best["best_params"], "states": best["states"],
                         "wall_seconds": time.perf_counter() - started})
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    medians = {s: statistics.median(r["best_value"] for r in rows if r["sampler"] == s) for s in ("tpe", "random")}
    return {"config": args.config, "trials": args.trials, "startup": args.startup, "pruner": args.pruner,
            "median_best": medians,
            "runs": rows}


def neat(args: argparse.Namespace, scratch: Path) -> dict:
    config = load_tune_config(args.config)
    config.tune.workers = args.workers
    started = time.perf_counter()
    best = tune(config, scratch / "study", trials=args.trials, study_name="neat")
    tune_seconds = time.perf_counter() - started
    tuned = [f"{k}={_toml_value(v)}" for k, v in best["best_params"].items()]
    report = {"config": args.config, "trials": args.trials, "tune_seconds": tune_seconds,
              "best_params": best["best_params"], "tuning_value": best["best_value"]}
    seeds = list(range(args.test_seeds))
    for name, overrides in (("defaults", config.extra), ("tuned", [*config.extra, *tuned])):
        with ProcessPoolExecutor(args.jobs) as pool:
            runs = list(pool.map(one_seed, [str(config.base_path)] * len(seeds), [overrides] * len(seeds), seeds))
        solved = [r["evaluations_to_solve"] for r in runs if r["solved"]]
        report[name] = {"solved": len(solved), "runs": len(runs),
                        "mean_evaluations": statistics.mean(solved) if solved else None,
                        "median_evaluations": statistics.median(solved) if solved else None}
        print(f"{name}: {report[name]}", file=sys.stderr, flush=True)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("samplers", "neat"))
    parser.add_argument("--config")
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--seeds", type=int, default=3, help="samplers: studies per sampler")
    parser.add_argument("--startup", type=int, default=5, help="samplers: TPE's random startup trials")
    parser.add_argument("--pruner", help="samplers: override tune.pruner (e.g. none)")
    parser.add_argument("--test-seeds", type=int, default=50, help="neat: fresh seeds the comparison runs on")
    parser.add_argument("--workers", type=int, default=0, help="Ray workers per study (0: in-process)")
    parser.add_argument("--jobs", type=int, default=2, help="neat: processes for the comparison runs")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    args.config = args.config or {"samplers": "configs/tune-train-digits-rows.toml",
                                  "neat": "configs/tune-xor-neat.toml"}[args.what]
    with tempfile.TemporaryDirectory() as scratch:
        report = (samplers if args.what == "samplers" else neat)(args, Path(scratch))
    if args.json:
        print(json.dumps(report))


if __name__ == "__main__":
    main()
