"""Run a NEAT config over many seeds and report success rate, evaluations to solve and solution size.

    python benchmarks/neat_seeds.py configs/xor.toml --seeds 100 [--jobs 2] [--set KEY=VALUE ...] [--json]

Evaluations are counted as in the NEAT paper: every genome evaluated up to and including the generation that
produced the (verified) solution. The last line with --json is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import evolve  # noqa: E402


def one_seed(config_path: str, overrides: list[str], seed: int) -> dict:
    started = time.perf_counter()
    result = evolve.run(config_path, seed=seed, workers=0, overrides=[*overrides, "run.progress=false"],
                        callbacks=[evolve.FreezeHeap()])
    summary = result.summary
    summary["process_seconds"] = time.perf_counter() - started
    return summary


def _verify_figures(verdicts: list[dict]) -> dict:
    """Mean, min and max over the solved runs of each figure their champion test reported (e.g. DPNV's
    generalization score)."""
    keys = sorted({k for v in verdicts for k in v if k != "generation"})
    return {
        key: {"mean": statistics.mean(vals), "min": min(vals), "max": max(vals)}
        for key in keys
        if (vals := [v[key] for v in verdicts if key in v])
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config")
    parser.add_argument("--seeds", type=int, default=100)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    results = []
    with ProcessPoolExecutor(args.jobs) as pool:
        for seed, r in zip(seeds, pool.map(one_seed, [args.config] * len(seeds), [args.overrides] * len(seeds), seeds)):
            results.append(r)
            print(
                f"seed {seed}: solved={r['solved']} evaluations={r['evaluations_to_solve']} "
                f"generations={r['generations']} wall={r['wall_seconds']:.1f}s verify={r['verify']}",
                file=sys.stderr,
                flush=True,
            )
    solved = [r for r in results if r["solved"]]
    evaluations = [r["evaluations_to_solve"] for r in solved]
    report = {
        "config": args.config,
        "overrides": args.overrides,
        "seeds": len(seeds),
        "solved": len(solved),
        "mean_evaluations": statistics.mean(evaluations) if evaluations else None,
        "median_evaluations": statistics.median(evaluations) if evaluations else None,
        "max_evaluations": max(evaluations) if evaluations else None,
        "mean_generations": statistics.mean(r["solved_generation"] + 1 for r in solved) if solved else None,
        "mean_hidden_nodes": statistics.mean(r["solution"]["hidden_nodes"] for r in solved) if solved else None,
        "mean_enabled_connections": (
            statistics.mean(r["solution"]["enabled_connections"] for r in solved) if solved else None
        ),
        "mean_wall_seconds": statistics.mean(r["wall_seconds"] for r in results),
        "verify": _verify_figures([r["verify"] for r in solved]),
    }
    for key, value in report.items():
        if not args.json:
            print(f"{key:>26}: {value}")
    if args.json:
        print(json.dumps(report))


if __name__ == "__main__":
    main()
