"""What Super Mario Bros. keeps in RAM, read as numbers: position, life and death, the flag, and the tile grid
around Mario that crAIg and MarI/O fed their networks.

All functions take the NES work RAM as a uint8 array (stable-retro's `get_ram()`; only the first 2 KiB are read).
Screen coordinates: the 13 tile rows of the playfield start 32 pixels below the top of the screen; a sprite's RAM
y is 24 (Mario) or 16 (enemies) pixels above its centre. The level's tiles live in a ring of two 16-column pages
(0x500-0x69F) that the game fills as it scrolls; the grid reads only the columns on screen.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TILE = 16
ROWS = 13  # playfield rows in the tile ring
PAGE_COLUMNS = 16
TILE_RING = 0x500
ENEMY_SLOTS = 5

SOLID, ENEMY, MARIO = 1.0, -1.0, 0.5  # grid cell values; empty cells are 0
PIPE = 0.25  # with TileWindow.pipes: a pipe's mouth that Mario can enter
# Metatiles of enterable pipe mouths: a vertical pipe's top (0x10-0x11; 0x12-0x13 tops cannot be entered) and a
# sideways pipe's mouth (0x1C, 0x1F), such as 1-1's pipe to its coin room and 1-2's exit to its flagpole.
PIPE_MOUTHS = np.array([0x10, 0x11, 0x1C, 0x1F], dtype=np.uint8)

DYING, DEAD = 0x0B, 0x06  # player state (0x0E) values
ON_FLAGPOLE = 0x03  # float state (0x1D): sliding down the flagpole
VICTORY = 0x02  # operation mode (0x770): a castle's axe was reached (1 while playing)
MAX_X_SPEED = 40.0  # |ram[0x57]| when running at full speed


def u8(ram: np.ndarray, address: int) -> int:
    return int(ram[address])


def s8(ram: np.ndarray, address: int) -> int:
    value = int(ram[address])
    return value - 256 if value >= 128 else value


def mario_x(ram: np.ndarray) -> int:
    """Mario's x in level pixels (3161 at the 1-1 flagpole)."""
    return u8(ram, 0x6D) * 256 + u8(ram, 0x86)


def screen_left(ram: np.ndarray) -> int:
    """The level x of the screen's left edge."""
    return u8(ram, 0x71A) * 256 + u8(ram, 0x71C)


def mario_cell(ram: np.ndarray) -> tuple[int, int]:
    """(level column, playfield row) of Mario's centre; the row leaves 0..12 when he is above or below the screen."""
    return (mario_x(ram) + 8) // TILE, (u8(ram, 0xCE) + 24 - 32) // TILE


def enemy_cells(ram: np.ndarray) -> list[tuple[int, int]]:
    """(level column, playfield row) of the centre of every enemy being drawn."""
    cells = []
    for slot in range(ENEMY_SLOTS):
        if u8(ram, 0x0F + slot):
            x = u8(ram, 0x6E + slot) * 256 + u8(ram, 0x87 + slot)
            cells.append(((x + 8) // TILE, (u8(ram, 0xCF + slot) + 16 - 32) // TILE))
    return cells


def is_dying(ram: np.ndarray) -> bool:
    """Hit by an enemy, out of time, or fallen below the screen into a pit."""
    return u8(ram, 0x0E) in (DYING, DEAD) or u8(ram, 0xB5) > 1


def on_ground(ram: np.ndarray) -> bool:
    """Standing or walking, not jumping or falling."""
    return u8(ram, 0x1D) == 0


def on_flagpole(ram: np.ndarray) -> bool:
    return u8(ram, 0x1D) == ON_FLAGPOLE


def at_axe(ram: np.ndarray) -> bool:
    """A castle cleared: the game switched to its victory mode (the bridge falls, then Toad or the princess)."""
    return u8(ram, 0x770) == VICTORY


def area(ram: np.ndarray) -> int:
    """The area Mario is in: the address of its level data (0xE7-0xE8), which changes through a pipe to another part
    of the level, such as 1-1's coin room or 1-2's exit to its flagpole, where x counts afresh. (The area pointer at
    0x750 is not it: level objects set it on the way to say where the next pipe leads.)"""
    return u8(ram, 0xE8) * 256 + u8(ram, 0xE7)


def world_stage(ram: np.ndarray) -> tuple[int, int]:
    """(world, stage), both counted from 0."""
    return u8(ram, 0x75F), u8(ram, 0x75C)


def time_left(ram: np.ndarray) -> int:
    """The in-game timer (three BCD-like digits at 0x7F8)."""
    return u8(ram, 0x7F8) * 100 + u8(ram, 0x7F9) * 10 + u8(ram, 0x7FA)


def extras(ram: np.ndarray) -> dict[str, float]:
    """Optional scalar inputs, scaled to about [-1, 1]."""
    return {
        "velocity": s8(ram, 0x57) / MAX_X_SPEED,
        "vertical_velocity": s8(ram, 0x9F) / 8.0,
        "on_ground": 1.0 if on_ground(ram) else 0.0,
    }


@dataclass(frozen=True)
class TileWindow:
    """A `width` x `height` window of tiles. Columns start `left` tiles from Mario's column (negative: behind him).
    With anchor "mario" rows start `top` rows from Mario's row; with "screen" they are the playfield's 13 rows and
    Mario's own cell is marked, so the network sees his height."""

    width: int = 13
    height: int = 13
    left: int = -6
    top: int = -6
    anchor: str = "mario"
    pipes: bool = False  # mark enterable pipe mouths PIPE instead of SOLID

    @property
    def size(self) -> int:
        return self.width * self.height

    def grid(self, ram: np.ndarray) -> np.ndarray:
        """(height, width) float32: SOLID for a non-empty tile (PIPE for an enterable pipe's mouth with `pipes`),
        ENEMY where an enemy's centre is, MARIO where his centre is, 0 elsewhere (and beyond the tiles the game has decoded)."""
        column, row = mario_cell(ram)
        first_column = column + self.left
        first_row = 0 if self.anchor == "screen" else row + self.top
        grid = np.zeros((self.height, self.width), dtype=np.float32)
        # Only the screen's columns (17 while it is scrolled mid-tile) are surely current in the ring, and only the
        # playfield's rows exist: the network sees what a player sees.
        first_visible = screen_left(ram) // TILE
        c0, c1 = max(first_column, first_visible), min(first_column + self.width, first_visible + PAGE_COLUMNS + 1)
        r0, r1 = max(first_row, 0), min(first_row + self.height, ROWS)
        if c0 < c1 and r0 < r1:
            columns = np.arange(c0, c1)
            rows = np.arange(r0, r1)
            addresses = TILE_RING + ((columns // PAGE_COLUMNS) % 2) * (ROWS * PAGE_COLUMNS) + columns % PAGE_COLUMNS
            tiles = ram[addresses[None, :] + rows[:, None] * PAGE_COLUMNS]
            cells = (tiles != 0).astype(np.float32)
            if self.pipes:
                cells[np.isin(tiles, PIPE_MOUTHS)] = PIPE
            grid[r0 - first_row : r1 - first_row, c0 - first_column : c1 - first_column] = cells
        marks = [(c, r, ENEMY) for c, r in enemy_cells(ram)]
        if self.anchor == "screen":  # in a Mario-centred window his cell never moves: marking it tells nothing
            marks.append((column, row, MARIO))
        for cell_column, cell_row, value in marks:
            i, j = cell_row - first_row, cell_column - first_column
            if 0 <= i < self.height and 0 <= j < self.width:
                grid[i, j] = value
        return grid
