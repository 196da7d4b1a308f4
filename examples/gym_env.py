"""Evolve a controller for a Gymnasium environment of your own (examples/corridor.py), by its id.

    python examples/gym_env.py [--workers N] [--seed S]

The id `corridor:Corridor-v0` names the module that registers the environment, so every process (this one, each
Ray evaluator) imports it before making the environment; any Gymnasium id works the same way. The same from the
command line, in this folder: `evolve run ../configs/cartpole.toml --set env.id=corridor:Corridor-v0`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import evolve

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "cartpole.toml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=0, help="0: in this process; N: N Ray evaluators")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    result = evolve.run(CONFIG, seed=args.seed, workers=args.workers, generations=50,
                        overrides={"env.id": "corridor:Corridor-v0", "env.episodes": 4, "run.progress": False})
    print(f"solved={result.solved} generations={result.generations} evaluations={result.evaluations} "
          f"best_fitness={result.best_fitness:.2f} (mean return over 4 episodes; solved at 40)")


if __name__ == "__main__":
    main()
