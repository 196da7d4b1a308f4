"""`evolve tune`: the command line of Optuna studies, registered with the `evolve` command through the entry-point
group `evolve.commands` (the command line lives in evolve/, which imports nothing from search/)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from evolve.cli import UsageError, path_argument


def add_tune_command(sub: Any) -> tuple[str, Callable[[argparse.Namespace], int]]:
    tune = sub.add_parser("tune", help="run more trials of an Optuna study (hyperparameters or NEAT's own)")
    tune.add_argument("config", type=path_argument, help="a tune config ([tune], [params])")
    tune.add_argument("--trials", type=int, help="trials to add (default: tune.trials)")
    tune.add_argument("--storage", help="SQLAlchemy URL (default: SQLite study.db in the output directory)")
    tune.add_argument("--study", help="study name (default: the config's name)")
    tune.add_argument("--out", type=path_argument, help="output directory (default: runs/tune-<study>)")
    tune.add_argument("--workers", type=int, help="Ray workers, one trial each (0: in this process)")
    return "tune", run_tune_command


def run_tune_command(args: argparse.Namespace) -> int:
    from search.tune import tune
    from search.tune_config import load_tune_config

    if args.trials is not None and args.trials < 1:
        raise UsageError(f"--trials must be >= 1, got {args.trials}")
    if args.workers is not None and args.workers < 0:
        raise UsageError(f"--workers must be >= 0, got {args.workers}")
    config = load_tune_config(args.config)
    if args.workers is not None:
        config.tune.workers = args.workers
    name = args.study or config.study_name
    out = args.out or Path("runs") / f"tune-{name}"
    best = tune(config, out, args.trials, args.storage, name)
    if "best_value" in best:
        print(f"study {name}: {best['states']['COMPLETE']} complete trials; best value {best['best_value']:.6g} "
              f"with {best['best_params']}; reports in {out}")
    else:
        print(f"study {name}: {best['states']['COMPLETE']} complete trials; "
              f"Pareto front of {len(best.get('pareto_front', []))}; reports in {out}")
    return 0
