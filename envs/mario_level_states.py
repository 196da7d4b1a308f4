"""Save states for the levels stable-retro ships none of (it has Level1-1, Level1-4, 2-1, 3-1, ... but not 1-2 or
1-3), derived by playing the game into them, so they are the game's own state at that level's first controllable
frame.

Level1-2: from Level1-1, the recorded 473-step run to the flagpole (envs/mario_states/mario_1-1_flag.json, also the
flag test's fixture), then no buttons until the game has entered 1-2 (world/stage 1-2 in RAM), played its intro
(Mario walks into the pipe) and hands Mario to the player (player state normal, timer running). The emulator is
deterministic, so `python -m envs.mario_level_states` writes the shipped files again bit for bit (a test checks).
Files are gzip-compressed emulator states in envs/mario_states/, named like stable-retro's states.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np

STATES_DIR = Path(__file__).parent / "mario_states"
FLAG_RUN = STATES_DIR / "mario_1-1_flag.json"
NORMAL = 0x08  # player state (0x0E): Mario under the player's control
MAX_WAIT_FRAMES = 5_000


def derived_states() -> tuple[str, ...]:
    return tuple(sorted(p.name.removesuffix(".state") for p in STATES_DIR.glob("*.state")))


def load_state(name: str) -> bytes:
    return gzip.decompress((STATES_DIR / f"{name}.state").read_bytes())


def derive_level_1_2(rom: str = "") -> bytes:
    """The emulator state at 1-2's first controllable frame, played from Level1-1 (see the module docstring)."""
    from envs import mario_ram
    from envs.mario import MarioEmulator, parse_action

    recorded = json.loads(FLAG_RUN.read_text())
    emulator = MarioEmulator("Level1-1", rom)
    masks = [emulator.mask(parse_action(a)) for a in recorded["actions"]]
    ram = emulator.reset()
    for step in recorded["steps"]:
        ram = emulator.step(masks[int(step)], recorded["frame_skip"])
    if not mario_ram.on_flagpole(ram):
        raise RuntimeError("the recorded 1-1 run did not reach the flagpole")
    idle = np.zeros_like(masks[0])
    for _ in range(MAX_WAIT_FRAMES):
        ram = emulator.step(idle, 1)
        if (mario_ram.world_stage(ram) == (0, 1) and int(ram[0x0E]) == NORMAL
                and mario_ram.time_left(ram) > 0):
            return emulator.save()
    raise RuntimeError(f"1-2 gave Mario no control within {MAX_WAIT_FRAMES} frames after the flag")


DERIVATIONS = {"Level1-2": derive_level_1_2}


def main() -> None:
    STATES_DIR.mkdir(exist_ok=True)
    for name, derive in DERIVATIONS.items():
        path = STATES_DIR / f"{name}.state"
        path.write_bytes(gzip.compress(derive(), mtime=0))
        print(f"wrote {path} ({path.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
