"""A batched fitness function: the whole population scored in one call, the fast path for small networks.

    python examples/batched_fitness.py [--seed S]

A half adder: two bits in, their sum bit (XOR) and carry bit (AND) out. With `batched=True` the fitness function
receives `nets`, a chunk of P genomes packed into one network: `nets(x)` maps the (4, 2) patterns to (P, 4, 2)
outputs in one sparse evaluation, and the function returns P fitness values.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import evolve

PATTERNS = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
TARGETS = np.stack([PATTERNS[:, 0] != PATTERNS[:, 1], PATTERNS[:, 0] * PATTERNS[:, 1] > 0], axis=1).astype(float)
CONFIG = Path(__file__).resolve().parents[1] / "configs" / "xor.toml"


def half_adder(nets) -> np.ndarray:
    """nets(x): (P, 4, 2) outputs; returns P fitness values, 8 minus the summed absolute error."""
    error = np.abs(nets(PATTERNS) - TARGETS).sum(axis=(1, 2))
    return 8.0 - error


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=0, help="0: in this process; N: N Ray evaluators")
    args = parser.parse_args()

    task = evolve.FunctionTask(half_adder, num_inputs=2, num_outputs=2, batched=True, solve_fitness=7.5)
    result = evolve.run(CONFIG, task=task, seed=args.seed, workers=args.workers, generations=300,
                        overrides={"run.progress": False, "run.chunk_size": 150})
    outputs = result.best_genome.phenotype().activate(PATTERNS)
    print(f"solved={result.solved} generations={result.generations} evaluations={result.evaluations} "
          f"best_fitness={result.best_fitness:.4f}")
    for pattern, out in zip(PATTERNS.astype(int).tolist(), outputs.round(3).tolist()):
        print(f"  {pattern} -> sum {out[0]:.3f} carry {out[1]:.3f}")


if __name__ == "__main__":
    main()
