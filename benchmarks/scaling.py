"""Evaluation throughput (evaluations/s) against the number of Ray workers, with parallel efficiency.

    python benchmarks/scaling.py [--workers 1 2] [--population 200] [--chunk-size 25] [--episodes 20] \\
        [--generations 5] [--repeats 3] [--config configs/cartpole.toml] [--env CartPole-v1] [--set KEY=VALUE] \\
        [--json]

The population is real: --config (with env.id = --env when given) evolved serially for --generations generations
(one episode per genome, to keep it quick), then the next generation is bred and held fixed. That generation is cut
into chunks of --chunk-size genomes exactly as the run loop does and evaluated with --episodes episodes per genome by
`evaluate_chunk`: serially in this process (the baseline, torch limited to one thread as in a Ray actor, which gets
OMP_NUM_THREADS=1: small batched matmuls on several threads slow down many-fold on a loaded machine) and on a
RayExecutor per worker count. Ray is started once with max(--workers, cpu count) CPUs; each pool is warmed up
(actors started, environments built) before timing.
The time of a worker count is the best (minimum) of --repeats timed maps, the least disturbed by other load.
speedup(N) = rate(N) / rate(1); efficiency(N) = rate(N) / (N * rate(1)). Every worker count must return exactly the
fitness list of the serial baseline (asserted). With --json the last stdout line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import ray
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evolve.config import load_config  # noqa: E402
from evolve.evaluation import evaluate_chunk, evaluate_population  # noqa: E402
from evolve.executor import Executor, SerialExecutor  # noqa: E402
from evolve.ray_executor import RayExecutor  # noqa: E402
from evolve.strategies import build_strategy  # noqa: E402
from evolve.strategy import Evaluations  # noqa: E402

SEED = 0


def build_payloads(
    config_path: str, env: str | None, sets: list[str], population: int, generations: int, episodes: int, size: int
) -> list[dict[str, Any]]:
    """Evolve `generations` generations serially, breed the next one and cut it into chunks as the run loop does."""
    overrides = [*([f"env.id={env}"] if env else []), *sets, "env.episodes=1", f"population.size={population}"]
    config = load_config(config_path, overrides)
    strategy, spec = build_strategy(config), config.env.source()
    state = strategy.init(SEED)
    for _ in range(generations):
        population, state = strategy.ask(state)
        documents = [g.shared_dict() for g in population.genomes]
        results = evaluate_population(SerialExecutor(), spec, documents, population.seeds, size)
        state, _ = strategy.tell(state, population, Evaluations.from_results(results))
    population, state = strategy.ask(state)
    documents = [g.shared_dict() for g in population.genomes]
    seeds = population.seeds
    spec = {**spec, "kwargs": {**spec["kwargs"], "episodes": episodes}}
    return [
        {"task": spec, "genomes": documents[i : i + size], "seeds": seeds[i : i + size]}
        for i in range(0, len(documents), size)
    ]


def timed(executor: Executor, payloads: list[dict[str, Any]], repeats: int) -> tuple[float, list[float]]:
    """Best wall time of `repeats` maps over all chunks, and the fitness list (identical on every repeat)."""
    seeds = [p["seeds"][0] for p in payloads]
    best, fitness = float("inf"), None
    for _ in range(repeats):
        started = time.perf_counter()
        chunks = executor.map(evaluate_chunk, payloads, seeds)
        best = min(best, time.perf_counter() - started)
        result = [r["fitness"] for chunk in chunks for r in chunk]
        assert fitness is None or result == fitness, "fitness differs between repeats"
        fitness = result
    return best, fitness


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--population", type=int, default=200)
    parser.add_argument("--chunk-size", type=int, default=25)
    parser.add_argument("--episodes", type=int, default=20)
    parser.add_argument("--generations", type=int, default=5, help="serial generations evolved before measuring")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--config", default="configs/cartpole.toml")
    parser.add_argument("--env", help="env.id override (e.g. another Gymnasium id)")
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                        help="config override, e.g. env.cache_steps=0 so repeated maps of Mario emulate again")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if 1 not in args.workers:
        parser.error("--workers must include 1 (the base of speedup and efficiency)")
    os.chdir(Path(__file__).resolve().parents[1])
    payloads = build_payloads(args.config, args.env, args.sets, args.population, args.generations, args.episodes, args.chunk_size)
    n = sum(len(p["genomes"]) for p in payloads)

    torch.set_num_threads(1)
    serial = SerialExecutor()
    timed(serial, payloads, 1)  # warm-up: imports, environment construction
    serial_time, reference = timed(serial, payloads, args.repeats)
    print(
        f"{payloads[0]['task']['id']}: {n} genomes in {len(payloads)} chunks, {args.episodes} episodes each, "
        f"{os.cpu_count()} CPUs; best of {args.repeats}",
        file=sys.stderr,
    )
    print(f"serial: {serial_time:.3f} s, {n / serial_time:.1f} evals/s", file=sys.stderr)

    ray.init(num_cpus=max(*args.workers, os.cpu_count() or 1), include_dashboard=False, logging_level="WARNING")
    rates: dict[int, float] = {}
    try:
        for workers in args.workers:
            executor = RayExecutor(workers)
            try:
                assert executor.wait_ready() == workers
                timed(executor, payloads, 1)  # warm-up: imports and environments in every actor
                elapsed, fitness = timed(executor, payloads, args.repeats)
            finally:
                executor.close()
            assert fitness == reference, f"{workers} workers: fitness differs from the serial evaluation"
            rates[workers] = n / elapsed
    finally:
        ray.shutdown()

    base = rates[1]
    results = [
        {"workers": w, "evals_per_s": r, "speedup": r / base, "efficiency": r / (w * base)} for w, r in rates.items()
    ]
    print(f"{'workers':>7} {'evals/s':>10} {'speedup':>8} {'efficiency':>10}", file=sys.stderr)
    for r in results:
        print(
            f"{r['workers']:>7} {r['evals_per_s']:>10.1f} {r['speedup']:>8.2f} {r['efficiency']:>10.2f}",
            file=sys.stderr,
        )
    print("fitness identical to serial for every worker count", file=sys.stderr)
    if args.json:
        at_2 = next((r["efficiency"] for r in results if r["workers"] == 2), None)
        print(
            json.dumps(
                {
                    "env": payloads[0]["task"]["id"],
                    "population": n,
                    "chunk_size": args.chunk_size,
                    "episodes": args.episodes,
                    "cpus": os.cpu_count(),
                    "serial_evals_per_s": n / serial_time,
                    "results": results,
                    "efficiency_at_2": at_2,
                }
            )
        )


if __name__ == "__main__":
    main()
