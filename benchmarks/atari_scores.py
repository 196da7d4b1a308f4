"""NEAT from RAM on Atari games after a stated frame budget, beside a random policy under the same protocol.

    python benchmarks/atari_scores.py [--games pong freeway boxing] [--population 50] [--generations 10] \\
        [--test-episodes 10] [--workers 2] [--seed 0] [--json]

For each game, configs/atari-<game>-ram.toml (protocol: sticky actions 0.25 per frame, frame skip 4, episodes
capped at 18,000 frames, minimal action set) is evolved for --generations generations of --population genomes on
--workers Ray evaluators (0: serial). The frame budget is what evolution consumed: every frame every genome played
(summary.json's `frames`). The best genome (best.json) is then scored on --test-episodes fresh episodes (seeds the
run never used), and a uniform random policy on the same number of episodes with the same protocol; both in this
process. With --json the last stdout line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from envs.atari import AtariTask  # noqa: E402
from evolve.config import load_config  # noqa: E402
import evolve  # noqa: E402
from genomes.export import load_genome  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
TEST_SEED = 10**6  # far from any evaluation seed a run derives


class RandomPolicy:
    def __init__(self, outputs: int, seed: int) -> None:
        self.outputs, self.rng = outputs, np.random.default_rng(seed)

    def reset(self) -> None:
        pass

    def activate(self, x: np.ndarray) -> np.ndarray:
        return self.rng.random((*x.shape[:-1], self.outputs))


def test_scores(task: AtariTask, network, episodes: int) -> list[float]:
    return [task.evaluate(network, np.random.default_rng(TEST_SEED + i)).fitness for i in range(episodes)]


def bench_game(game: str, args: argparse.Namespace, out: Path) -> dict:
    overrides = [f"population.size={args.population}", f"run.generations={args.generations}",
                 f"run.seed={args.seed}", f"run.workers={args.workers}", "run.progress=false"]
    config = load_config(REPO / "configs" / f"atari-{game}-ram.toml", overrides)
    started = time.perf_counter()
    summary = evolve.run(config, out=out / game).summary
    wall = time.perf_counter() - started
    task = AtariTask(**config.env.kwargs)
    best = test_scores(task, load_genome(out / game / "best.json").phenotype(), args.test_episodes)
    random = test_scores(task, RandomPolicy(task.num_outputs, args.seed), args.test_episodes)
    row = {
        "game": game,
        "protocol": {k: config.env.kwargs[k] for k in ("obs", "frame_skip", "sticky", "max_frames")},
        "population": args.population,
        "generations": summary["generations"],
        "frames": int(summary["frames"]),
        "wall_seconds": wall,
        "workers": summary["workers"],
        "train_max_score": summary["max_score"],
        "best_test_mean": float(np.mean(best)),
        "best_test_max": float(np.max(best)),
        "random_test_mean": float(np.mean(random)),
        "random_test_max": float(np.max(random)),
    }
    print(f"{game:<8} frames {row['frames']:>11,} ({wall:6.0f} s)  train max {row['train_max_score']:7.1f}  "
          f"best genome {row['best_test_mean']:7.2f} (max {row['best_test_max']:5.1f})  "
          f"random {row['random_test_mean']:7.2f} (max {row['random_test_max']:5.1f})  "
          f"over {args.test_episodes} test episodes", file=sys.stderr)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--games", nargs="+", default=["pong", "freeway", "boxing"])
    parser.add_argument("--population", type=int, default=50)
    parser.add_argument("--generations", type=int, default=10)
    parser.add_argument("--test-episodes", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="keep the run directories here (default: a temporary directory)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        rows = [bench_game(game, args, out) for game in args.games]
    if args.json:
        print(json.dumps({"results": rows}))


if __name__ == "__main__":
    main()
