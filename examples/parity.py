"""3-bit parity with a fitness function of your own: `evolve.FunctionTask` in a dozen lines.

    python examples/parity.py [--workers N] [--seed S]

The network sees three bits and must output their parity (1 when an odd number of them is set). Fitness is
8 minus the summed absolute error over the eight patterns; the run counts as solved at 7.5, where every output is
within 0.5 of its target. By default it evolves in this process; `--workers N` evaluates on N Ray workers of an
embedded Ray, and the function travels to them with the task.
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import numpy as np

import evolve

BITS = np.array(list(itertools.product([0.0, 1.0], repeat=3)))
PARITY = BITS.sum(axis=1) % 2
CONFIG = Path(__file__).resolve().parents[1] / "configs" / "xor.toml"


def parity_fitness(net) -> float:
    """net(x) maps (8, 3) inputs to (8, 1) outputs."""
    error = np.abs(net(BITS)[:, 0] - PARITY)
    return float(8.0 - error.sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=0, help="0: in this process; N: N Ray evaluators")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--generations", type=int, default=300)
    args = parser.parse_args()

    task = evolve.FunctionTask(parity_fitness, num_inputs=3, num_outputs=1, solve_fitness=7.5)
    result = evolve.run(CONFIG, task=task, seed=args.seed, workers=args.workers, generations=args.generations,
                        overrides={"run.progress": False})
    outputs = result.best_genome.phenotype().activate(BITS)[:, 0]
    print(f"solved={result.solved} generations={result.generations} evaluations={result.evaluations} "
          f"best_fitness={result.best_fitness:.4f}")
    for bits, out in zip(BITS.astype(int).tolist(), outputs):
        print(f"  {bits} -> {out:.3f}")


if __name__ == "__main__":
    main()
