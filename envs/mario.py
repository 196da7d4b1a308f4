"""Super Mario Bros. on stable-retro, driven the way evolution needs: from a save state, a button mask held for a
few frames at a time, RAM read once per step. No screen is copied unless asked for (replays), so a step costs
little more than the emulation itself.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from envs.mario_rom import GAME, integration_dir, register

log = logging.getLogger(__name__)

BUTTON_NAMES = {"right": "RIGHT", "left": "LEFT", "up": "UP", "down": "DOWN", "a": "A", "b": "B"}
DEFAULT_ACTIONS = ["right", "right+A", "right+B", "right+A+B", "A", "left", "none"]

_open: MarioEmulator | None = None  # stable-retro allows one emulator per process


def parse_action(name: str) -> tuple[str, ...]:
    """"right+A+B" -> ("RIGHT", "A", "B"); "none" -> (). Raises ValueError naming an unknown button."""
    if name.strip().lower() == "none":
        return ()
    buttons = []
    for part in name.split("+"):
        key = part.strip().lower()
        if key not in BUTTON_NAMES:
            raise ValueError(f"unknown button {part!r} in action {name!r} (buttons: right, left, up, down, A, B; "
                             "or none)")
        buttons.append(BUTTON_NAMES[key])
    return tuple(buttons)


@lru_cache(maxsize=32)
def start_state(name: str) -> bytes:
    """The emulator state a save state holds: ours (envs/mario_states) or stable-retro's .state file."""
    import gzip

    import stable_retro

    from envs.mario_level_states import derived_states, load_state

    if name in derived_states():
        return load_state(name)
    path = stable_retro.data.get_file_path(GAME, f"{name}.state", inttype=stable_retro.data.Integrations.STABLE)
    if path is None:
        raise ValueError(f"unknown Mario state {name!r} (known: {', '.join(states())})")
    with gzip.open(path) as f:
        return f.read()


@lru_cache(maxsize=1)
def states() -> tuple[str, ...]:
    """The save states stable-retro ships for the game (Level1-1, Level1-4, ..., Level8-1) and ours derived from
    them (Level1-2: `envs.mario_level_states`)."""
    import stable_retro

    from envs.mario_level_states import derived_states

    shipped = stable_retro.data.list_states(GAME, stable_retro.data.Integrations.STABLE)
    return tuple(sorted({*shipped, *derived_states()}))


class MarioEmulator:
    """One NES emulator at a save state. Opening one closes the process's previous one (a stable-retro limit)."""

    def __init__(self, state: str = "Level1-1", rom: str = "") -> None:
        import stable_retro

        from envs.mario_level_states import derived_states, load_state

        global _open
        if _open is not None:
            log.info("closing this process's previous Mario emulator (one per process)")
            _open.close()
        register(integration_dir(rom))
        # A derived state starts from Level1-1 and is restored on every reset.
        self._start = load_state(state) if state in derived_states() else None
        self.env: Any = stable_retro.make(
            GAME,
            state="Level1-1" if self._start is not None else state,
            inttype=stable_retro.data.Integrations.CUSTOM,
            obs_type=stable_retro.Observations.RAM,
            use_restricted_actions=stable_retro.Actions.ALL,
            render_mode=None,
        )
        self.buttons: list[str | None] = list(self.env.buttons)
        _open = self

    def mask(self, buttons: Sequence[str]) -> np.ndarray:
        """The controller bit mask that holds `buttons` down."""
        mask = np.zeros(len(self.buttons), dtype=np.uint8)
        for button in buttons:
            mask[self.buttons.index(button)] = 1
        return mask

    def reset(self, state: str | None = None) -> np.ndarray:
        """Back to the emulator's save state, or to the save state named `state` (world mode's other levels)."""
        self.env.reset()
        start = self._start if state is None else start_state(state)
        if start is not None:
            self.env.em.set_state(start)
        return self.ram()

    def step(self, mask: np.ndarray, frames: int, on_frame: Callable[[], None] | None = None) -> np.ndarray:
        """Hold `mask` for `frames` frames; returns the RAM after the last one."""
        em = self.env.em
        em.set_button_mask(mask, 0)
        for _ in range(frames):
            em.step()
            if on_frame is not None:
                on_frame()
        return self.ram()

    def ram(self) -> np.ndarray:
        """The NES's 2 KiB of work RAM, read live from the emulator. (stable-retro's get_ram() and update_ram()
        copy every memory block and snapshot it for its own reward bookkeeping, which we do not use: together they
        cost as much as half an emulated frame.)"""
        blocks = self.env.data.memory.blocks
        return np.frombuffer(blocks[0] + blocks[1024], dtype=np.uint8)

    def save(self) -> bytes:
        """The emulator's whole state (about 13 KB), to `restore` later."""
        return self.env.em.get_state()

    def restore(self, state: bytes) -> None:
        self.env.em.set_state(state)

    def screen(self) -> np.ndarray:
        """The current frame, (224, 240, 3) uint8."""
        return self.env.em.get_screen()

    def close(self) -> None:
        global _open
        if self.env is not None:
            self.env.close()
            self.env = None
        if _open is self:
            _open = None
