"""What users run, timed as whole processes: the README's `evolve run` command against neat-python's own process.

    python benchmarks/end_to_end.py [--tasks xor,cartpole] [--seeds 20] [--first-seed 0] [--json]

Per task and seed, two processes run one after the other, their order alternating from seed to seed:
- ours: `evolve run configs/<task>.toml --seed N --out DIR`, the default command with default options (the
  executor, the progress output, the run directory and its checkpoints);
- neat-python 2.0: `benchmarks/neat_python_run.py`, a standalone script that imports neat-python (and Gymnasium for
  CartPole), never this engine, with our TOML's values written as its INI file.
Both stop at the first solving generation or at the TOML's generation cap. Reported per task: medians over seeds of
the whole-process wall time, the in-run wall time (each engine's own loop, imports excluded) and the whole-process
CPU time (the child's user + system, its own child processes included where they were waited for); the paired
ratios neat-python / ours per seed and their median (> 1: ours is faster). Also the start-up of the cheapest
commands, `evolve --help` and `python -c "import evolve"`, whole process, median of 5. With --json the last line is
one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.vs_neat_python import neat_python_ini  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TASKS = {"xor": "configs/xor.toml", "cartpole": "configs/cartpole.toml"}


# The processes run as on a user's machine: Python writes and reuses bytecode caches (a sandbox or CI shell may set
# PYTHONDONTWRITEBYTECODE, which makes every process compile each module it imports, and penalizes the engine with
# more modules).
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def timed(command: list[str], cwd: Path) -> tuple[float, float, subprocess.CompletedProcess]:
    """Run `command` to completion; its wall seconds, its CPU seconds (user + system) and the finished process."""
    before = os.times()
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=CHILD_ENV)
    wall = time.perf_counter() - started
    after = os.times()
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return wall, cpu, done


def ours(task: str, seed: int, scratch: Path) -> dict:
    out = scratch / f"{task}-{seed}"
    shutil.rmtree(out, ignore_errors=True)
    evolve = shutil.which("evolve") or str(Path(sys.executable).with_name("evolve"))
    wall, cpu, _ = timed([evolve, "run", TASKS[task], "--seed", str(seed), "--out", str(out)], ROOT)
    summary = json.loads((out / "summary.json").read_text())
    shutil.rmtree(out, ignore_errors=True)
    return {"wall": wall, "cpu": cpu, "in_run": summary["wall_seconds"], "solved": summary["solved"],
            "evaluations": summary["evaluations"]}


def neat_python(task: str, seed: int, ini: Path, cap: int) -> dict:
    script = ROOT / "benchmarks" / "neat_python_run.py"
    wall, cpu, done = timed([sys.executable, str(script), str(ini), task, "--seed", str(seed),
                             "--generations", str(cap)], ROOT)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return {"wall": wall, "cpu": cpu, "in_run": result["wall"], "solved": result["solved"],
            "evaluations": result["evaluations"]}


def startup(repeats: int = 5) -> dict:
    """Median whole-process seconds of `evolve --help` and of `python -c "import evolve"`."""
    evolve = shutil.which("evolve") or str(Path(sys.executable).with_name("evolve"))
    commands = {"evolve_help": [evolve, "--help"], "import_evolve": [sys.executable, "-c", "import evolve"]}
    return {name: statistics.median(timed(command, ROOT)[0] for _ in range(repeats))
            for name, command in commands.items()}


def summarize(a: list[dict], b: list[dict]) -> dict:
    """Medians of each engine's figures and of the paired ratios b / a."""
    report: dict = {}
    for name, runs in (("ours", a), ("neat_python", b)):
        report[name] = {
            "solved": sum(r["solved"] for r in runs), "runs": len(runs),
            "median_evaluations": statistics.median(r["evaluations"] for r in runs),
            **{f"median_{k}_seconds": statistics.median(r[k] for r in runs) for k in ("wall", "in_run", "cpu")},
        }
    for key in ("wall", "in_run", "cpu"):
        report[f"speedup_{key}"] = statistics.median(y[key] / x[key] for x, y in zip(a, b))
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default="xor,cartpole")
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    if unknown := [t for t in tasks if t not in TASKS]:
        parser.error(f"unknown task {unknown[0]!r} (known: {', '.join(TASKS)})")
    import tomllib

    report: dict = {"machine": os.uname().nodename, "cpus": os.cpu_count(), "startup_seconds": startup()}
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        for task in tasks:
            ini = scratch / f"{task}.ini"
            ini.write_text(neat_python_ini(task))
            cap = tomllib.loads((ROOT / TASKS[task]).read_text())["run"]["generations"]
            ours(task, args.first_seed, scratch)  # untimed: bytecode and file caches warm, as on a machine that
            neat_python(task, args.first_seed, ini, cap)  # has run both before
            a, b = [], []
            for i, seed in enumerate(range(args.first_seed, args.first_seed + args.seeds)):
                if i % 2 == 0:
                    a.append(ours(task, seed, scratch))
                    b.append(neat_python(task, seed, ini, cap))
                else:
                    b.append(neat_python(task, seed, ini, cap))
                    a.append(ours(task, seed, scratch))
                print(f"{task} seed {seed}: ours {a[-1]['wall']:.2f} s (in run {a[-1]['in_run']:.2f} s), "
                      f"neat-python {b[-1]['wall']:.2f} s (in run {b[-1]['in_run']:.2f} s)", file=sys.stderr)
            report[task] = summarize(a, b)
            report[task]["generation_cap"] = cap
    print(f"start-up (median of 5): evolve --help {report['startup_seconds']['evolve_help']:.2f} s, "
          f"import evolve {report['startup_seconds']['import_evolve']:.2f} s")
    for task in tasks:
        r = report[task]
        print(f"{task}: whole process {r['ours']['median_wall_seconds']:.2f} s against "
              f"{r['neat_python']['median_wall_seconds']:.2f} s; paired medians neat-python / ours: whole "
              f"{r['speedup_wall']:.2f}x, in run {r['speedup_in_run']:.2f}x, CPU {r['speedup_cpu']:.2f}x; solved "
              f"{r['ours']['solved']}/{r['ours']['runs']} against {r['neat_python']['solved']}/{r['neat_python']['runs']}")
    if args.json:
        print(json.dumps(report))


if __name__ == "__main__":
    main()
