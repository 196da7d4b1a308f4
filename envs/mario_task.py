"""Super Mario Bros. as a neuroevolution task, the way crAIg and MarI/O posed it.

The network sees the tile grid around Mario (solid tiles 1, enemies -1) plus optional scalars, and picks one of a
configurable set of button combinations (argmax over one output per combination), held for `frame_skip` frames.
Everything is read from RAM, not from stable-retro's scroll reward: fitness is the furthest x reached, plus a bonus
and the time left (scaled) when the level is cleared: the flagpole, a castle's axe (read as the game's victory
mode), or reaching the level that follows. An episode ends on death, when the level is cleared or left (a
warp zone), when Mario makes no new ground for `stall_frames` frames (counted afresh in each area of the level a
pipe leads to), or after `max_frames`.

The emulator is deterministic, so an episode is a function of the genome alone; `noop_max` > 0 starts each
episode after a random number of idle frames drawn from the evaluation's generator, for robust solutions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from envs import mario_ram
from envs.mario import DEFAULT_ACTIONS, MarioEmulator, parse_action, states
from envs.live import live, live_store
from envs.mario_paths import PathCache
from envs.mario_ram import TileWindow
from envs.task import EvalResult, Task, TaskSetupError
from genomes.params import param
from genomes.phenotype import Network

EXTRAS = ("velocity", "vertical_velocity", "on_ground", "previous_action")
FLAG_X = 3161  # Mario's x on the 1-1 flagpole (for progress reports only; the flag itself is read from RAM)

# What a replay watches: called after every emulated frame, and after every decision with
# (RAM, the network's inputs, the chosen action's index).
FrameHook = Callable[[], None]
DecisionHook = Callable[[np.ndarray, np.ndarray, int], None]


class Progress:
    """Mario's furthest x and the frames since he last went further. A pipe into another area of the level starts
    the count afresh there (x counts from that area's left edge): the walk from 1-2's exit pipe to its flagpole, or
    1-1's coin room, is progress too, though the level's furthest x (the fitness) does not grow."""

    def __init__(self, area: int, x: int) -> None:
        self.area, self.area_best, self.max_x, self.since = area, x, x, 0

    def update(self, area: int, x: int, frames: int) -> None:
        """After `frames` more frames, Mario at `x` in `area` (x -1: the level was left)."""
        self.max_x = max(self.max_x, x)
        if area != self.area:
            self.area, self.area_best, self.since = area, x, 0
        elif x > self.area_best:
            self.area_best, self.since = x, 0
        else:
            self.since += frames


def following(stage: tuple[int, int]) -> tuple[int, int]:
    """The (world, stage) after `stage`, both from 0: x-1 to x-3 lead to the next stage, x-4 to the next world."""
    world, level = stage
    return (world, level + 1) if level < 3 else (world + 1, 0)


@dataclass
class Episode:
    max_x: int
    start_x: int
    flag: bool
    died: bool
    time_left: int
    frames: int


@dataclass(frozen=True)
class MarioTask(Task):
    env_id: ClassVar[str] = "mario"
    run_metrics: ClassVar[dict[str, str]] = {"max_x": "max", "flag": "max", "frames": "sum"}
    state: str = param("Level1-1", doc="a save state of SuperMarioBros-Nes: stable-retro's (Level1-1, Level1-4, "
                       "Level2-1 ... Level8-1) or ours (Level1-2, Level1-3)")
    rom: str = param("", doc="path to a Super Mario Bros. .nes (empty: $EVOLVE_MARIO_ROM, the cache, or download)")
    actions: list[str] = param(DEFAULT_ACTIONS, doc="button combinations the network chooses among, e.g. right+A")
    frame_skip: int = param(4, ge=1, le=1_000, doc="frames each chosen action is held")
    stall_frames: int = param(120, ge=1, le=1_000_000, doc="end the episode after this many frames without a new furthest x")
    max_frames: int = param(0, ge=0, le=10_000_000, doc="frame cap per episode (0: none; the game's timer still runs)")
    episodes: int = param(1, ge=1, le=1_000)
    noop_max: int = param(0, ge=0, le=10_000, doc="start each episode after 0..noop_max idle frames (0: deterministic)")
    grid_width: int = param(13, ge=1, le=17)
    grid_height: int = param(13, ge=1, le=13)
    grid_left: int = param(-6, ge=-16, le=16, doc="first grid column, in tiles from Mario's (negative: behind)")
    grid_top: int = param(-6, ge=-13, le=13, doc="first grid row from Mario's (anchor mario)")
    grid_anchor: str = param("mario", choices=("mario", "screen"),
                             doc="rows around Mario, or the playfield's 13 rows with Mario's cell marked")
    pipes: bool = param(False, doc="mark the mouths of pipes Mario can enter (1-1's coin room, 1-2's exit) 0.25 in "
                        "the grid instead of 1, so a network can tell them from walls")
    extras: list[str] = param([], each_in=EXTRAS, doc="inputs after the grid: velocity, vertical_velocity, on_ground "
                              "(scalars from RAM), previous_action (one-hot over actions)")
    flag_bonus: float = param(1000.0, ge=0.0, doc="fitness added for reaching the flag")
    time_bonus: float = param(1.0, ge=0.0, doc="fitness per unit of game time left at the flag")
    levels: list[str] = param([], doc="world mode: the save states each genome plays in turn (e.g. Level1-1, "
                              "Level1-2, Level1-4), fitness summed over them; empty: `state` alone")
    rejump: bool = param(False, doc="an action with A jumps again once Mario is back on the ground: A is let go for "
                         "the first frame of a step that holds it after a step that held it (the game jumps on a press)")
    cache_steps: int = param(40000, ge=0, le=1_000_000, doc="decision steps of play remembered per process, so episodes that "
                             "repeat earlier decisions replay them instead of emulating (0: off; ~3.5 KB a step)")

    def __post_init__(self) -> None:
        if not self.actions:
            raise ValueError("actions must name at least one button combination")
        for action in self.actions:
            parse_action(action)
        if self.grid_anchor == "screen" and self.grid_height != mario_ram.ROWS:
            raise ValueError(f"grid_anchor 'screen' shows all {mario_ram.ROWS} rows: grid_height must be "
                             f"{mario_ram.ROWS}")

    @property
    def window(self) -> TileWindow:
        return TileWindow(self.grid_width, self.grid_height, self.grid_left, self.grid_top, self.grid_anchor,
                          self.pipes)

    @property
    def num_inputs(self) -> int:
        return self.window.size + sum(len(self.actions) if e == "previous_action" else 1 for e in self.extras)

    @property
    def num_outputs(self) -> int:
        return len(self.actions)

    def interface(self) -> dict[str, Any]:
        w = self.window
        grid = [f"tile[row {self.grid_top + r}, column {self.grid_left + c}]" for r in range(self.grid_height)
                for c in range(self.grid_width)] if w.size == self.grid_width * self.grid_height else [
            f"tile {i}" for i in range(w.size)]
        extras = [f"previous action was {a}" if e == "previous_action" else e for e in self.extras
                  for a in (self.actions if e == "previous_action" else [None])]
        return {"inputs": grid + extras, "outputs": list(self.actions),
                "preprocessing": f"the tile grid read from RAM around Mario (anchor {self.grid_anchor}), row by row: "
                                 "1 solid, -1 enemy, 0 empty" + (", 0.25 a pipe to enter" if self.pipes else "")
                                 + "; then the extras",
                "decode": f"press the button combination of the largest output, held for {self.frame_skip} frames"}

    def prepare(self) -> None:
        """Acquire the ROM and check the state name before any worker starts (TaskSetupError if impossible)."""
        from envs.mario_rom import integration_dir

        integration_dir(self.rom)
        for state in (self.state, *self.levels):
            if state not in states():
                raise TaskSetupError(f"unknown Mario state {state!r} (known: {', '.join(states())})")

    @property
    def emulator(self) -> MarioEmulator:
        store = live_store(self)
        if store.get("emulator") is None or store["emulator"].env is None:  # closed when another task opened one
            store["emulator"] = MarioEmulator(self.state, self.rom)
        return store["emulator"]

    def observe(self, ram: np.ndarray, previous: int = -1) -> np.ndarray:
        """The network's inputs: the tile grid, row by row, then the chosen extras. `previous` is the index of the
        action chosen at the last step (-1 at the first): a feed-forward network that sees it can let go of a held
        button, e.g. A to jump again from the step of a staircase, where the grid alone looks the same."""
        grid = self.window.grid(ram).ravel()
        if not self.extras:
            return grid.astype(np.float64)
        scalars = mario_ram.extras(ram)
        parts = [grid]
        for name in self.extras:
            if name == "previous_action":
                parts.append(np.arange(len(self.actions)) == previous)
            else:
                parts.append([scalars[name]])
        return np.concatenate(parts).astype(np.float64)

    def play(
        self,
        network: Network,
        noops: int = 0,
        on_frame: FrameHook | None = None,
        on_decision: DecisionHook | None = None,
        level: str | None = None,
    ) -> Episode:
        """One episode from the save state (`level`: another one, in world mode); the hooks let a replay watch it.
        Steps already played by an earlier episode of this process (the same decisions from the same start) come
        from the path cache."""
        emulator = self.emulator
        masks = [emulator.mask(parse_action(a)) for a in self.actions]
        with_a = [("A" in parse_action(a)) for a in self.actions]
        released = [emulator.mask(tuple(b for b in parse_action(a) if b != "A")) for a in self.actions]
        paths = self.paths_of(level) if on_frame is None else None  # a replay must see every frame emulated
        network.reset()
        node = synced = None  # the cache node the episode is at; the one the emulator is at
        if paths is not None:
            paths.trim()
            node = paths.root(noops)
        if node is None:
            ram = emulator.reset(level if level != self.state else None)
            if noops:
                ram = emulator.step(np.zeros_like(masks[0]), noops, on_frame)
            if paths is not None:
                node = synced = paths.add_root(noops, ram, emulator.save())
        ram = node.ram if node is not None else ram
        start_stage = mario_ram.world_stage(ram)
        start_x = mario_ram.mario_x(ram)
        progress = Progress(mario_ram.area(ram), start_x)
        frames = 0
        choice = -1
        while True:
            inputs = self.observe(ram, choice)
            previous, choice = choice, int(np.argmax(network.activate(inputs)))
            # A fresh press of A for a jump from the ground: a function of the path (the last choice and the RAM)
            repress = self.rejump and with_a[choice] and previous >= 0 and with_a[previous] and mario_ram.on_ground(ram)
            if on_decision is not None:
                on_decision(ram, inputs, choice)
            if node is None:
                ram = self._step(emulator, masks[choice], released[choice] if repress else None, on_frame)
            else:
                child = node.children.get(choice)
                if child is None:
                    if synced is not node:
                        emulator.restore(node.emulator_state())
                    ram = self._step(emulator, masks[choice], released[choice] if repress else None)
                    child = synced = paths.extend(node, choice, ram, emulator.save())
                else:
                    paths.replayed += 1
                node, ram = child, child.ram
            frames += self.frame_skip
            stage = mario_ram.world_stage(ram)
            left = stage != start_stage
            # Counted before the episode can end, so the flag step's x (the pole's) counts; not a new level's x.
            progress.update(mario_ram.area(ram), -1 if left else mario_ram.mario_x(ram), self.frame_skip)
            # Cleared: on the flagpole, at a castle's axe (the game's victory mode), or in the level that follows; a
            # warp zone's pipe leaves the level too, but skips levels, and ends the episode uncleared.
            flag = mario_ram.on_flagpole(ram) or mario_ram.at_axe(ram) or stage == following(start_stage)
            if flag or left or mario_ram.is_dying(ram):
                return Episode(progress.max_x, start_x, flag, not flag and not left, mario_ram.time_left(ram), frames)
            if progress.since >= self.stall_frames or (self.max_frames and frames >= self.max_frames):
                return Episode(progress.max_x, start_x, False, False, mario_ram.time_left(ram), frames)

    def _step(self, emulator: MarioEmulator, mask: np.ndarray, release: np.ndarray | None,
              on_frame: FrameHook | None = None) -> np.ndarray:
        """Hold `mask` for `frame_skip` frames, the first one with `release` instead (A let go) when given."""
        if release is None or self.frame_skip == 1:
            return emulator.step(mask, self.frame_skip, on_frame)
        emulator.step(release, 1, on_frame)
        return emulator.step(mask, self.frame_skip - 1, on_frame)

    @property
    def level(self) -> str:
        """The level the episodes play, "1-1" for the save state Level1-1 (world mode: the levels, "1-1,1-2,1-4")."""
        return ",".join(s.removeprefix("Level") for s in (self.levels or [self.state]))

    def paths_of(self, level: str | None = None) -> PathCache | None:
        """The path cache of the episodes from `level` (None: `state`), each level its own trees."""
        if self.cache_steps == 0:
            return None
        key = "paths" if level in (None, self.state) else f"paths-{level}"
        return live(self, key, lambda: PathCache(self.cache_steps))

    @property
    def paths(self) -> PathCache | None:
        return self.paths_of()

    def fitness(self, episode: Episode) -> float:
        bonus = self.flag_bonus + self.time_bonus * episode.time_left if episode.flag else 0.0
        return float(episode.max_x + bonus)

    def evaluate(self, network: Network, rng: np.random.Generator) -> EvalResult:
        noops = rng.integers(0, self.noop_max + 1, size=self.episodes) if self.noop_max else [0] * self.episodes
        if self.levels:
            return self._evaluate_world(network, [int(n) for n in noops])
        played = [self.play(network, int(n)) for n in noops]
        flags = [e.flag for e in played]
        return EvalResult(
            float(np.mean([self.fitness(e) for e in played])),
            {
                "max_x": float(max(e.max_x for e in played)),
                "flag": float(any(flags)),
                "time_left": float(max((e.time_left for e in played if e.flag), default=0)),
                "frames": float(sum(e.frames for e in played)),
            },
            solved=all(flags),
        )

    def _evaluate_world(self, network: Network, noops: list[int]) -> EvalResult:
        """World mode: every episode plays each level in turn; fitness the sum over levels of their mean fitness,
        metrics per level (max_x@1-2, flag@1-2, ...), the count of levels cleared in every episode, max_x summed
        over the levels and flag when all are cleared; solved when every level is."""
        return self.world_result({state: [self.play(network, n, level=state) for n in noops] for state in self.levels})

    def world_result(self, episodes: dict[str, list[Episode]]) -> EvalResult:
        """The world-mode result of each level's episodes (see `_evaluate_world`)."""
        fitness, metrics, cleared, frames, progress = 0.0, {}, 0, 0, 0
        for state, played in episodes.items():
            name = state.removeprefix("Level")
            fitness += float(np.mean([self.fitness(e) for e in played]))
            metrics[f"max_x@{name}"] = float(max(e.max_x for e in played))
            metrics[f"flag@{name}"] = float(all(e.flag for e in played))
            cleared += all(e.flag for e in played)
            frames += sum(e.frames for e in played)
            progress += max(e.max_x for e in played)
        # the run's own figures: max_x sums the levels' furthest x, flag is every level cleared
        metrics.update(levels_cleared=float(cleared), max_x=float(progress), flag=float(cleared == len(self.levels)),
                       frames=float(frames), time_left=0.0)
        return EvalResult(fitness, metrics, solved=cleared == len(self.levels))

    def verify(self, network: Network, rng: np.random.Generator) -> EvalResult:
        return self.evaluate(network, rng)

    def replay(self, network: Network, rng: np.random.Generator, sink: Callable[[np.ndarray], None]) -> EvalResult:
        """One episode as video frames (the game and crAIg's side panel) handed to `sink`; 60 frames per second."""
        from envs.mario_replay import record

        return record(self, network, rng, sink)
