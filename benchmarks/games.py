"""The games tables of BENCHMARKS.md from run directories: Mario levels and Atari games from RAM.

    python benchmarks/games.py RUN [RUN ...] [--test-episodes 30] [--validate G K] [--champions DIR] [--json]

Each RUN is a run directory of `evolve run` with a Mario or an Atari config (configs/mario-*.toml,
configs/atari-*.toml). Per run, from its files (config.toml, summary.json) and by playing its champion
(best.json) with `evolve.play.evaluate_genome`, as `evolve evaluate` does:
- Mario: level, seed, population, whether the run cleared the level (its verified solution reached the flag), the
  generation it first did, the frames emulated over the whole run and its wall time; the champion's furthest x and
  flag on a fresh play. Below the table, the median generation to clear over the runs of each level (a run that
  never cleared counts as its last generation + 1, so the median is an upper bound when some failed).
- Mario world mode (env.levels): the levels, the ones its champion clears on a fresh play and the first generation
  whose champion cleared as many, frames, wall time, the champion's furthest x per level.
- Atari: game, observation (env.obs), seed, frames, wall time, and the champion's mean score over --test-episodes
  fresh episodes (episode i with default_rng([10**6, i]), seeds no run derives), raw and human-normalized,
  (score-random)/(human-random), beside the published table (random and human: Mnih et al. 2015; DQN at 50 M frames;
  OpenAI ES, 1 hour on 720 CPUs). A run's best.json holds the genome with the highest single training score, which on
  a noisy game (sticky actions, one episode per genome) is partly luck; --validate G K instead takes, of the last G
  generations' champions, the one with the best mean over K validation episodes (seeds apart from the test's), and
  counts the frames they play in the run's frames.
--champions DIR copies each run's best.json and resolved config.toml to DIR/NAME (mario-1-1-seed0, mario-1-2,
atari-freeway-ram, atari-freeway-objects, ...; one per Atari game and observation, so give only the seed to keep):
the small run directories `evolve evaluate DIR/NAME` checks in seconds. Atari test episodes follow the protocol's
18,000-frame cap even when training used shorter episodes (env.max_frames); an Atari champion's config states that
cap and its test.json the test episodes' scores (`evolve evaluate DIR/NAME --episodes 30 --seed 1000000` replays
them).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import sys
import tempfile
import tomllib
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evolve.play import evaluate_genome  # noqa: E402

TEST_SEED = 10**6
VALIDATION_SEED = 10**6 + 1  # champion selection (--validate): seeds apart from the test's and every run's
PROTOCOL_FRAMES = 18_000  # Machado et al.: test episodes end at 5 minutes of play, whatever cap training used
# game: (random, human, DQN 50 M frames, OpenAI ES), raw scores (the published table)
PUBLISHED = {
    "boxing": (0.1, 4.3, 71.8, 49.8),
    "freeway": (0.0, 29.6, 30.3, 31.0),
    "pong": (-20.7, 9.3, 18.9, 21.0),
}


def read_run(run_dir: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """A finished run's resolved config and summary; a clear SystemExit when the folder is not one."""
    try:
        config = tomllib.loads((run_dir / "config.toml").read_text())
        summary = json.loads((run_dir / "summary.json").read_text())
    except (OSError, ValueError) as exc:
        raise SystemExit(f"{run_dir}: not a finished run directory ({exc})") from None
    return config, summary


def mario_row(run_dir: Path, config: dict[str, Any], summary: dict[str, Any]) -> dict[str, Any]:
    played = evaluate_genome(run_dir / "best.json", 1, 0)
    if config["env"].get("levels"):
        return world_row(run_dir, config, summary, played)
    level = config["env"].get("state", "Level1-1").removeprefix("Level")
    seed = config["run"]["seed"]
    return {
        "kind": "mario", "run": str(run_dir), "level": level, "seed": seed,
        "population": config.get("population", {}).get("size"),
        "cleared": bool(summary["solved"]), "generation": summary.get("solved_generation"),
        "generations": summary["generations"], "frames": int(summary.get("frames", 0)),
        "wall_seconds": summary["wall_seconds"], "champion_max_x": played.get("max_x"),
        "champion_flag": played.get("flag"), "name": f"mario-{level}-seed{seed}" if level == "1-1" else f"mario-{level}",
    }


def world_row(run_dir: Path, config: dict[str, Any], summary: dict[str, Any], played: dict[str, Any]
              ) -> dict[str, Any]:
    """A world-mode run: the levels its champion clears, and the first generation whose champion cleared as many."""
    levels = [level["level"] for level in played["levels"]]
    cleared = [level["level"] for level in played["levels"] if level["flag"]]
    with open(run_dir / "metrics.jsonl") as lines:
        generation = next((m["generation"] for m in map(json.loads, lines)
                           if m.get("levels_cleared", 0) >= len(cleared)), None) if cleared else None
    return {
        "kind": "world", "run": str(run_dir), "levels": levels,
        "seed": config["run"]["seed"], "population": config.get("population", {}).get("size"),
        "cleared_levels": cleared, "generation": generation, "generations": summary["generations"],
        "frames": int(summary.get("frames", 0)), "wall_seconds": summary["wall_seconds"],
        "champion_levels": played["levels"], "name": f"mario-world{levels[0].split('-')[0]}",
    }


def atari_row(run_dir: Path, config: dict[str, Any], summary: dict[str, Any], episodes: int,
              validate: tuple[int, int] = (0, 0)) -> dict[str, Any]:
    """The run's champion tested on `episodes` fresh full-length episodes. With validate = (G, K), the champion is
    instead the one of the last G generations' champions with the best mean over K validation episodes (training's
    episode cap, seeds no run or test uses); the frames it plays count in the row's frames."""
    game, obs = config["env"]["game"], config["env"].get("obs", "ram")
    champion_dir, validation = run_dir, {}
    if validate[0] > 0:
        champion_dir, validation = validated_champion(run_dir, *validate)
    played = evaluate_genome(champion_dir / "best.json", episodes, TEST_SEED,
                             overrides=[f"env.max_frames={PROTOCOL_FRAMES}"])
    row = {"kind": "atari", "run": str(run_dir), "champion_dir": str(champion_dir), "game": game, "obs": obs,
           "seed": config["run"]["seed"],
           "frames": int(summary.get("frames", 0)) + validation.get("frames", 0), "validation": validation,
           "wall_seconds": summary["wall_seconds"], "generations": summary["generations"],
           "train_max_frames": config["env"]["max_frames"], "test_episodes": episodes, "test_mean": played["mean"],
           "test_max": max(played["scores"]), "test_scores": played["scores"], "name": f"atari-{game}-{obs}"}
    if game in PUBLISHED:
        random, human, dqn, es = PUBLISHED[game]
        row.update(random=random, human=human, dqn=dqn, es=es,
                   human_normalized=(played["mean"] - random) / (human - random))
    return row


def validated_champion(run_dir: Path, generations: int, episodes: int) -> tuple[Path, dict[str, Any]]:
    """Of the champions of the run's last `generations` generations (champions.jsonl), the one with the best mean
    score over `episodes` validation episodes (episode i with default_rng([VALIDATION_SEED, i])), written with the
    run's config.toml to a new folder; and the validation's figures: frames played, each candidate's mean."""
    import dataclasses

    import numpy as np

    from evolve.api import genome_from_dict
    from evolve.config import load_config

    lines = [json.loads(line) for line in (run_dir / "champions.jsonl").read_text().splitlines() if line.strip()]
    task = load_config(run_dir / "config.toml").env.make()
    task.prepare()
    task = dataclasses.replace(task, episodes=1)
    means, frames = {}, 0
    for line in lines[-generations:]:
        network = genome_from_dict(line["genome"]).phenotype()
        results = [task.evaluate(network, np.random.default_rng([VALIDATION_SEED, i])) for i in range(episodes)]
        means[line["generation"]] = float(np.mean([r.fitness for r in results]))
        frames += int(sum(r.metrics["frames"] for r in results))
    chosen = max(means, key=lambda g: (means[g], g))  # ties: the later generation
    line = next(line for line in lines if line["generation"] == chosen)
    folder = Path(tempfile.mkdtemp(prefix="validated-"))
    (folder / "best.json").write_text(json.dumps({"generation": chosen, "genome_id": line["id"],
                                                  "fitness": line["fitness"], "genome": line["genome"]}))
    shutil.copyfile(run_dir / "config.toml", folder / "config.toml")
    return folder, {"frames": frames, "episodes": episodes, "generation": chosen, "means": means}


def mario_table(rows: list[dict[str, Any]]) -> str:
    lines = ["| level | seed | population | cleared | generation | frames | wall | champion: max x, flag |",
             "|---|---|---|---|---|---|---|---|"]
    for r in sorted(rows, key=lambda r: (r["level"], r["seed"])):
        lines.append(f"| {r['level']} | {r['seed']} | {r['population']} | {'yes' if r['cleared'] else 'no'} | "
                     f"{r['generation'] if r['cleared'] else '—'} | {r['frames']:,} | {r['wall_seconds'] / 60:.1f} min"
                     f" | {r['champion_max_x']:.0f}, {'flag' if r['champion_flag'] else 'no flag'} |")
    for level in sorted({r["level"] for r in rows}):
        runs = [r for r in rows if r["level"] == level]
        generations = [r["generation"] if r["cleared"] else r["generations"] + 1 for r in runs]
        lines.append(f"\n{level}: {sum(r['cleared'] for r in runs)}/{len(runs)} runs cleared; median generation to "
                     f"clear {statistics.median(generations):g}")
    return "\n".join(lines)


def world_table(rows: list[dict[str, Any]]) -> str:
    lines = ["| levels | seed | population | levels the champion clears | first generation | frames | wall | champion: "
             "max x per level |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        reached = ", ".join(f"{level['level']} {level['max_x']:.0f}{' flag' if level['flag'] else ''}"
                            for level in r["champion_levels"])
        lines.append(f"| {', '.join(r['levels'])} | {r['seed']} | {r['population']} | "
                     f"{len(r['cleared_levels'])} ({', '.join(r['cleared_levels']) or 'none'}) | "
                     f"{r['generation'] if r['generation'] is not None else '—'} | {r['frames']:,} | "
                     f"{r['wall_seconds'] / 60:.1f} min | {reached} |")
    return "\n".join(lines)


def atari_table(rows: list[dict[str, Any]]) -> str:
    lines = ["| game | observation | seed | generations | training episode cap | frames | wall | champion, test mean "
             "(max) | human-normalized | random | human | DQN | ES |", "|---" * 13 + "|"]
    for r in sorted(rows, key=lambda r: (r["game"], r["obs"], r["seed"])):
        published = (f"{r['human_normalized']:.2f} | {r['random']} | {r['human']} | {r['dqn']} | {r['es']}"
                     if "human" in r else "— | — | — | — | —")
        lines.append(f"| {r['game']} | {r['obs']} | {r['seed']} | {r['generations']} | "
                     f"{r['train_max_frames']:,} frames | {r['frames']:,} | "
                     f"{r['wall_seconds'] / 60:.1f} min | {r['test_mean']:.2f} ({r['test_max']:.0f}) | {published} |")
    return "\n".join(lines)


def copy_champion(run_dir: Path, target: Path, row: dict[str, Any]) -> None:
    """best.json and config.toml into target; an Atari champion's config gets the protocol's test cap (training may
    have used shorter episodes) and its test scores go to test.json, so `evolve evaluate` replays the figure."""
    run_dir = Path(row.get("champion_dir", run_dir))  # a validated champion lies in a folder of its own
    target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(run_dir / "best.json", target / "best.json")
    config = (run_dir / "config.toml").read_text()
    if row["kind"] == "atari":
        config = re.sub(r"(?m)^max_frames = \d+$", f"max_frames = {PROTOCOL_FRAMES}", config)
        test = {"seed": TEST_SEED, "max_frames": PROTOCOL_FRAMES, "scores": row["test_scores"],
                "mean": row["test_mean"], "train_max_frames": row["train_max_frames"]}
        (target / "test.json").write_text(json.dumps(test, indent=1) + "\n")
    (target / "config.toml").write_text(config)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, metavar="RUN")
    parser.add_argument("--test-episodes", type=int, default=30)
    parser.add_argument("--champions", type=Path, help="copy each champion's best.json and config.toml here")
    parser.add_argument("--validate", type=int, nargs=2, default=(0, 0), metavar=("G", "K"),
                        help="Atari: pick the champion among the last G generations' champions by their mean over K "
                             "validation episodes (default: the run's best.json)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = []
    for run_dir in args.runs:
        config, summary = read_run(run_dir)
        env = config["env"]["id"]
        if env == "mario":
            rows.append(mario_row(run_dir, config, summary))
        elif env == "atari":
            rows.append(atari_row(run_dir, config, summary, args.test_episodes, args.validate))
        else:
            raise SystemExit(f"{run_dir}: env {env!r} is neither mario nor atari")
        print(f"read {run_dir}", file=sys.stderr)
        if args.champions is not None:
            target = args.champions / rows[-1]["name"]
            copy_champion(run_dir, target, rows[-1])
    if mario := [r for r in rows if r["kind"] == "mario"]:
        print(mario_table(mario))
    if world := [r for r in rows if r["kind"] == "world"]:
        print(world_table(world))
    if atari := [r for r in rows if r["kind"] == "atari"]:
        print(atari_table(atari))
    if args.json:
        print(json.dumps({"results": rows}))


if __name__ == "__main__":
    main()
