"""NEAT-speciated cell search vs random search vs the hand-designed baseline, at an equal budget.

    python benchmarks/nas_compare.py [--configs nas-cnn-mnist1d nas-lstm-digits-rows] [--seeds 3] \\
        [--workers 0] [--set KEY=VALUE ...] [--json]

For each config and seed, two runs with the same population, generations, successive-halving schedule and final
retraining budget: `run.strategy = "neat"` and `run.strategy = "random"`. Every run retrains its best genome from
scratch for `env.final_epochs` and trains the baseline (CNN; LSTM and GRU for sequences, the better on validation)
with the same budget and seed; test accuracy is read only then. Reported: the median over seeds of each method's
test accuracy, with the per-seed figures, parameters and wall time. With --json the last stdout line is one JSON
object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import evolve  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def one_run(config_name: str, seed: int, strategy: str, workers: int, overrides: list[str], out: Path) -> dict:
    started = time.perf_counter()
    summary = evolve.run(REPO / "configs" / f"{config_name}.toml", seed=seed, workers=workers,
                         overrides=[f"run.strategy={strategy}", "run.progress=false", *overrides],
                         out=out / f"{config_name}-{strategy}-{seed}").summary
    return {"seed": seed, "strategy": strategy, "test_accuracy": summary["test_accuracy"],
            "params": summary["params"], "baseline": summary["baseline"],
            "baseline_test_accuracy": summary["baseline_test_accuracy"], "baseline_params": summary["baseline_params"],
            "best_val_score": summary["best_fitness"], "train_epochs": summary["train_epochs"],
            "wall_seconds": time.perf_counter() - started}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", default=["nas-cnn-mnist1d", "nas-lstm-digits-rows"])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=0, help="Ray evaluators (0: serial)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--out", type=Path, help="keep the run directories here (default: a temporary directory)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    report: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as scratch:
        out = args.out or Path(scratch)
        for name in args.configs:
            rows = [one_run(name, seed, strategy, args.workers, args.overrides, out)
                    for seed in range(args.first_seed, args.first_seed + args.seeds)
                    for strategy in ("neat", "random")]
            for row in rows:
                print(json.dumps({"config": name, **row}), file=sys.stderr)
            medians = {
                "neat": statistics.median(r["test_accuracy"] for r in rows if r["strategy"] == "neat"),
                "random": statistics.median(r["test_accuracy"] for r in rows if r["strategy"] == "random"),
                "baseline": statistics.median(r["baseline_test_accuracy"] for r in rows if r["strategy"] == "neat"),
            }
            report[name] = {"median_test_accuracy": medians, "runs": rows}
            print(f"{name}: median test accuracy  NEAT search {medians['neat']:.4f}  random search "
                  f"{medians['random']:.4f}  baseline {medians['baseline']:.4f}", file=sys.stderr)
    if args.json:
        print(json.dumps(report))


if __name__ == "__main__":
    main()
