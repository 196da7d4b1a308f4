"""Save states for the levels stable-retro ships none of (it has Level1-1, Level1-4, 2-1, 3-1, ... but not 1-2 or
1-3), derived by playing the game into them, so they are the game's own state at that level's first controllable
frame.

Each is derived from the level before it and a recorded run to that level's flagpole
(envs/mario_states/mario_<level>_flag.json: the save state, the action set, the frame skip, whether A was pressed
afresh on landing, and one action index per decision step): the run is played with `MarioTask.play`'s own stepping,
then no buttons until the game has entered the next level (world/stage in RAM), played its intro and handed Mario to
the player (player state normal, timer running). Level1-2 comes from 1-1's recorded flag run (also the flag test's
fixture); Level1-3 from the committed 1-2 champion's run (`python benchmarks/mario_flag_run.py`).
The emulator is deterministic, so `python -m envs.mario_level_states` writes the shipped files again bit for bit (a
test checks). Files are gzip-compressed emulator states in envs/mario_states/, named like stable-retro's states.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import numpy as np

STATES_DIR = Path(__file__).parent / "mario_states"
NORMAL = 0x08  # player state (0x0E): Mario under the player's control
MAX_WAIT_FRAMES = 5_000


def derived_states() -> tuple[str, ...]:
    return tuple(sorted(p.name.removesuffix(".state") for p in STATES_DIR.glob("*.state")))


def load_state(name: str) -> bytes:
    return gzip.decompress((STATES_DIR / f"{name}.state").read_bytes())


# A derived state: the level it is played from and the recorded run to that level's flagpole.
DERIVATIONS = {"Level1-2": ("Level1-1", "mario_1-1_flag.json"), "Level1-3": ("Level1-2", "mario_1-2_flag.json")}


def derivable() -> tuple[str, ...]:
    """The derived states whose recorded flag run is present."""
    return tuple(name for name, (_, run) in DERIVATIONS.items() if (STATES_DIR / run).is_file())


def stage_of(name: str) -> tuple[int, int]:
    """(world, stage) from 0 of a state name: "Level1-3" -> (0, 2)."""
    world, stage = name.removeprefix("Level").split("-")
    return int(world) - 1, int(stage) - 1


class Scripted:
    """A stand-in network that picks the recorded action index at each decision step."""

    def __init__(self, steps: list[int], outputs: int) -> None:
        self.steps, self.outputs, self.calls = steps, outputs, 0

    def reset(self) -> None:
        self.calls = 0

    def activate(self, inputs: np.ndarray) -> np.ndarray:
        out = np.zeros(self.outputs)
        out[self.steps[min(self.calls, len(self.steps) - 1)]] = 1.0
        self.calls += 1
        return out


def derive(name: str, rom: str = "") -> bytes:
    """The emulator state at `name`'s first controllable frame, played from the level before it through its recorded
    flag run (see the module docstring)."""
    from envs import mario_ram
    from envs.mario_task import MarioTask

    source, run = DERIVATIONS[name]
    recorded = json.loads((STATES_DIR / run).read_text())
    if recorded["state"] != source:
        raise RuntimeError(f"{run} starts from {recorded['state']}, not {source}")
    task = MarioTask(state=source, rom=rom, actions=recorded["actions"], frame_skip=recorded["frame_skip"],
                     rejump=recorded.get("rejump", False), stall_frames=1_000_000, cache_steps=0)
    steps = [int(c) for c in recorded["steps"]]
    episode = task.play(Scripted(steps, len(recorded["actions"])))
    if not episode.flag:
        raise RuntimeError(f"the recorded {source} run did not reach the flagpole")
    emulator, target = task.emulator, stage_of(name)
    idle = np.zeros_like(emulator.mask(()))
    for _ in range(MAX_WAIT_FRAMES):
        ram = emulator.step(idle, 1)
        if mario_ram.world_stage(ram) == target and int(ram[0x0E]) == NORMAL and mario_ram.time_left(ram) > 0:
            return emulator.save()
    raise RuntimeError(f"{name} gave Mario no control within {MAX_WAIT_FRAMES} frames after the flag")


def record_flag_run(task: Any, network: Any) -> dict[str, Any]:
    """The recording `derive` reads, of `network` playing `task` (a MarioTask) to its flagpole: one action index per
    decision step. Raises ValueError when the episode does not reach the flag."""
    steps: list[int] = []
    episode = task.play(network, on_decision=lambda ram, inputs, choice: steps.append(choice))
    if not episode.flag:
        raise ValueError(f"the genome does not reach {task.state}'s flag (max x {episode.max_x})")
    return {"about": f"{task.state} start to flagpole: one action index per decision step, played by an evolved "
                     "genome; the level after it is derived from it (envs/mario_level_states.py)",
            "state": task.state, "actions": list(task.actions), "frame_skip": task.frame_skip,
            "rejump": task.rejump, "steps": "".join(str(c) for c in steps) if len(task.actions) <= 10 else steps}


def main() -> None:
    STATES_DIR.mkdir(exist_ok=True)
    for name in derivable():
        path = STATES_DIR / f"{name}.state"
        path.write_bytes(gzip.compress(derive(name), mtime=0))
        print(f"wrote {path} ({path.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
