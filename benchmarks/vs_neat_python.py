"""Benchmark our NEAT engine against neat-python on the same tasks, in one process, on one machine.

    python benchmarks/vs_neat_python.py [--tasks xor,cartpole] [--seeds N] [--first-seed 0] [--json]

--seeds defaults to 50 (XOR: its evaluations to solve vary most from seed to seed) / 10 (CartPole); generation
caps 300 / 100. Runs are sequential and serial, the two engines alternating per seed. Wall time is taken around
each whole run (for ours it includes the checkpoints and metrics it always writes). Per task and engine: solved
count, mean evaluations to solve, wall per solved run (total wall / solved), genomes evaluated per second (total
evaluations / total wall); ratios <task>_speedup_wall_per_solved = neat-python / ours,
<task>_speedup_genomes_per_s = ours / neat-python (> 1: ours is faster), and <task>_speedup_cpu_per_solved on the
process CPU time (all threads) per solved run, which a loaded or oversubscribed VM (steal time) skews less than
wall time. With --json the last line is one JSON object.

neat-python gets the values of configs/xor.toml and configs/cartpole.toml, read from the same files, parameter for
parameter where it has one (population, mutation rates and powers, value ranges, c2 and c3, threshold, stagnation,
elitism, survival threshold, minimum species size; full_direct initial connections, feed-forward, our steep
sigmoid 4.9 / plain tanh registered as custom activations, species fitness max). Left different: neat-python has
one coefficient for excess and disjoint genes, always normalises distance by genome size, always crosses over, and
speciates and allocates offspring its own way — which is part of what is compared.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import gymnasium
import neat

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.neat_python_run import NEAT_PYTHON_ACTIVATIONS, NEAT_PYTHON_INI, neat_python_run  # noqa: E402
from benchmarks.neat_python_run import neat_python_config as config_from_ini  # noqa: E402
from evolve.config import load_config  # noqa: E402
import evolve  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TASKS = {  # name: (our config, generation cap, default seeds)
    "xor": ("configs/xor.toml", 300, 50),
    "cartpole": ("configs/cartpole.toml", 100, 10),
}

def neat_python_ini(task: str) -> str:
    """neat-python's INI text with our config's values, parameter for parameter where neat-python has one."""
    ours = load_config(ROOT / TASKS[task][0])
    g, sp, rep = ours.neat, ours.species, ours.reproduction
    float_genes = "\n".join(
        f"{name}_init_mean = {getattr(g, name + '_init_mean')}\n{name}_init_stdev = {getattr(g, name + '_init_stdev')}\n"
        f"{name}_mutate_rate = {getattr(g, name + '_mutate_rate')}\n"
        f"{name}_replace_rate = {getattr(g, name + '_replace_rate')}\n"
        f"{name}_mutate_power = {getattr(g, name + '_mutate_power')}\n{name}_max_value = {getattr(g, name + '_max')}\n"
        f"{name}_min_value = {getattr(g, name + '_min')}"
        for name in ("bias", "response", "weight")
    )
    return NEAT_PYTHON_INI.format(
        pop_size=ours.population.size, inputs=g.num_inputs, outputs=g.num_outputs,
        activation=NEAT_PYTHON_ACTIVATIONS[g.activation_default], conn_add=g.conn_add_prob, node_add=g.node_add_prob,
        float_genes=float_genes, c_disjoint=g.compatibility_disjoint, c_weight=g.compatibility_weight,
        enabled_rate=2 * g.enabled_mutate_rate, threshold=sp.compatibility_threshold,
        max_stagnation=sp.max_stagnation, species_elitism=sp.species_elitism, elitism=rep.elitism,
        survival=rep.survival_threshold, min_species_size=rep.min_species_size,
    )


def neat_python_config(task: str) -> neat.Config:
    """neat-python's config object for `task`, through a temporary INI file as neat-python reads it."""
    with tempfile.NamedTemporaryFile("w", suffix=".ini", delete=False) as f:
        f.write(neat_python_ini(task))
    try:
        return config_from_ini(f.name)
    finally:
        Path(f.name).unlink()


def our_run(task: str, seed: int, cap: int) -> dict:
    config = load_config(ROOT / TASKS[task][0], [f"run.seed={seed}", "run.progress=false", f"run.generations={cap}",
                                                 "run.workers=0"])
    with tempfile.TemporaryDirectory() as tmp:
        started, cpu_started = time.perf_counter(), time.process_time()
        summary = evolve.run(config, out=Path(tmp) / "run", callbacks=[evolve.FreezeHeap()]).summary
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return {"solved": summary["solved"], "evaluations": summary["evaluations"],
            "evaluations_to_solve": summary["evaluations_to_solve"], "wall": wall, "cpu": cpu,
            "loop_wall": summary["wall_seconds"]}


def aggregate(runs: list[dict]) -> dict:
    solved = [r for r in runs if r["solved"]]
    wall = sum(r["wall"] for r in runs)
    evaluations = sum(r["evaluations"] for r in runs)
    return {
        "runs": len(runs),
        "solved": len(solved),
        "mean_evaluations_to_solve": statistics.mean(r["evaluations_to_solve"] for r in solved) if solved else None,
        "mean_wall_seconds": wall / len(runs),
        "wall_per_solved": wall / len(solved) if solved else None,
        "cpu_per_solved": sum(r["cpu"] for r in runs) / len(solved) if solved else None,
        "genomes_per_s": evaluations / wall if wall else None,
        "total_wall": wall,
        "total_evaluations": evaluations,
    }


def ratio(a, b):
    return a / b if a is not None and b else None


def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default="xor,cartpole")
    parser.add_argument("--seeds", type=int, default=None, help="seeds per task (default: 20 XOR, 10 CartPole)")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    if unknown := [t for t in tasks if t not in TASKS]:
        parser.error(f"unknown task {unknown[0]!r} (known: {', '.join(TASKS)})")
    report: dict = {"neat_python_version": getattr(neat, "__version__", "?")}
    rows = []
    for task in tasks:
        _, cap, default_seeds, *_ = TASKS[task]
        seeds = range(args.first_seed, args.first_seed + (args.seeds or default_seeds))
        config = neat_python_config(task)
        env = gymnasium.make("CartPole-v1") if task == "cartpole" else None
        ours, theirs = [], []
        for seed in seeds:  # sequential, alternating engines
            ours.append(our_run(task, seed, cap))
            theirs.append(neat_python_run(task, config, seed, cap, env))
            if not args.json:
                print(f"{task} seed {seed}: ours {ours[-1]['wall']:.2f}s solved={ours[-1]['solved']}  "
                      f"neat-python {theirs[-1]['wall']:.2f}s solved={theirs[-1]['solved']}", file=sys.stderr)
        a, b = aggregate(ours), aggregate(theirs)
        a["loop_wall_seconds"] = sum(r["loop_wall"] for r in ours)
        report[task] = {"generation_cap": cap, "ours": a, "neat_python": b}
        report[f"{task}_speedup_wall_per_solved"] = ratio(b["wall_per_solved"], a["wall_per_solved"])
        report[f"{task}_speedup_genomes_per_s"] = ratio(a["genomes_per_s"], b["genomes_per_s"])
        report[f"{task}_speedup_cpu_per_solved"] = ratio(b["cpu_per_solved"], a["cpu_per_solved"])
        rows += [(task, "ours", a), (task, "neat-python", b)]

    print(f"{'task':<9} {'engine':<12} {'solved':>7} {'evals/solve':>12} {'wall/run s':>11} {'wall/solved s':>14} "
          f"{'genomes/s':>10}")
    for task, engine, s in rows:
        print(f"{task:<9} {engine:<12} {s['solved']:>3}/{s['runs']:<3} {fmt(s['mean_evaluations_to_solve'], '12.0f')} "
              f"{s['mean_wall_seconds']:>11.2f} {fmt(s['wall_per_solved'], '14.2f')} {fmt(s['genomes_per_s'], '10.0f')}")
    for task in tasks:
        print(f"{task}: speedup wall/solved (neat-python / ours) = "
              f"{fmt(report[f'{task}_speedup_wall_per_solved'], '.2f')}, "
              f"speedup genomes/s (ours / neat-python) = {fmt(report[f'{task}_speedup_genomes_per_s'], '.2f')}, "
              f"speedup CPU/solved = {fmt(report[f'{task}_speedup_cpu_per_solved'], '.2f')}")
    if args.json:
        print(json.dumps(report))


if __name__ == "__main__":
    main()
