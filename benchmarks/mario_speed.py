"""Emulator frames/s on one core: raw stable-retro against our Mario environment wrapper, on the same frames.

    python benchmarks/mario_speed.py [--genome RUN_DIR_OR_GENOME.json] [--episodes 20] [--json]

An episode of Level 1-1 is first played through `MarioTask.play` by a policy (a genome, or by default a scripted
cycle of right+B runs and right+A+B jumps), recording its decisions. Then, timed and alternating to share any
disturbance equally:
- raw core: `env.reset()` then the recorded button masks held for frame_skip `em.step()` calls each (the emulator
  alone, no RAM read);
- raw stable-retro API: the same decisions through `RetroEnv.step` with RAM observations, once per frame (the
  standard Gymnasium-style loop over stable-retro);
- ours: `MarioTask.play` replaying the recorded decisions (a network that costs nothing), so the time is emulation
  plus our wrapper: the RAM read, the tile grid, death/flag/stall checks. The path cache is off (`cache_steps = 0`):
  it would replay the repeated episode from memory, which measures the cache, not the wrapper.
overhead = raw-core frames/s / ours frames/s - 1 (goal <= 15%). With --json the last stdout line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from envs.mario import parse_action  # noqa: E402
from envs.mario_task import MarioTask  # noqa: E402
from evolve.config import load_config  # noqa: E402
from genomes.export import load_genome  # noqa: E402


class Scripted:
    """Replays a list of decisions (or cycles through a pattern) at no cost."""

    def __init__(self, outputs: int, choices: list[int]) -> None:
        self.outputs, self.choices, self.i = outputs, choices, 0
        self.eye = np.eye(outputs)

    def reset(self) -> None:
        self.i = 0

    def activate(self, x: np.ndarray) -> np.ndarray:
        choice = self.choices[self.i % len(self.choices)]
        self.i += 1
        return self.eye[choice]


def record(task: MarioTask, network) -> list[int]:
    choices: list[int] = []
    task.play(network, on_decision=lambda ram, inputs, c: choices.append(c))
    return choices


def raw_core(task: MarioTask, masks: list[np.ndarray]) -> tuple[int, float]:
    env = task.emulator.env
    started = time.perf_counter()
    env.reset()
    em = env.em
    for mask in masks:
        em.set_button_mask(mask, 0)
        for _ in range(task.frame_skip):
            em.step()
    return len(masks) * task.frame_skip, time.perf_counter() - started


def raw_api(task: MarioTask, masks: list[np.ndarray]) -> tuple[int, float]:
    env = task.emulator.env
    started = time.perf_counter()
    env.reset()
    for mask in masks:
        for _ in range(task.frame_skip):
            env.step(mask)
    return len(masks) * task.frame_skip, time.perf_counter() - started


def ours(task: MarioTask, network: Scripted) -> tuple[int, float]:
    started = time.perf_counter()
    episode = task.play(network)
    return episode.frames, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--genome", type=Path, help="a genome JSON or a run directory (its best.json and config)")
    parser.add_argument("--episodes", type=int, default=20, help="timed repetitions of each loop")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    if args.genome:
        genome_path = args.genome / "best.json" if args.genome.is_dir() else args.genome
        config = load_config(genome_path.parent / "config.toml", ["env.stall_frames=100000", "env.cache_steps=0"])
        task = MarioTask(**config.env.kwargs)
        policy, source = load_genome(genome_path).phenotype(), str(genome_path)
    else:
        task = MarioTask(stall_frames=100000, cache_steps=0)
        run, jump = task.actions.index("right+B"), task.actions.index("right+A+B")
        policy, source = Scripted(task.num_outputs, [jump] * 12 + [run] * 4), "scripted right+A+B / right+B cycle"
    task.prepare()
    choices = record(task, policy)
    masks = [task.emulator.mask(parse_action(task.actions[c])) for c in choices]
    replay = Scripted(task.num_outputs, choices)
    frames, seconds = {"core": 0, "api": 0, "ours": 0}, {"core": 0.0, "api": 0.0, "ours": 0.0}
    for _ in range(args.episodes):
        for name, measure in (("core", lambda: raw_core(task, masks)), ("api", lambda: raw_api(task, masks)),
                              ("ours", lambda: ours(task, replay))):
            n, t = measure()
            frames[name] += n
            seconds[name] += t
    assert frames["ours"] == frames["core"], "the replayed episode ran the recorded frames"
    fps = {name: frames[name] / seconds[name] for name in frames}
    overhead = fps["core"] / fps["ours"] - 1
    print(f"policy: {source}; episode of {len(choices) * task.frame_skip} frames (frame_skip {task.frame_skip}), "
          f"x {args.episodes}", file=sys.stderr)
    print(f"raw core (em.step):         {fps['core']:8.0f} frames/s", file=sys.stderr)
    print(f"raw stable-retro env.step:  {fps['api']:8.0f} frames/s", file=sys.stderr)
    print(f"ours (MarioTask.play):      {fps['ours']:8.0f} frames/s  overhead vs core {overhead:+.1%}, "
          f"vs env.step {fps['api'] / fps['ours'] - 1:+.1%}", file=sys.stderr)
    if args.json:
        print(json.dumps({"policy": source, "episode_frames": len(choices) * task.frame_skip,
                          "episodes": args.episodes, "fps": fps, "overhead_vs_core": overhead}))


if __name__ == "__main__":
    main()
