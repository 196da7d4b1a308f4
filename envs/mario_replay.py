"""A Mario replay in the manner of crAIg's viewer: the game on the left, and on the right the tile grid the network
sees (solid tiles, enemies, Mario) with its button combinations, the chosen one lit."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw

from envs.mario_ram import ENEMY, MARIO, SOLID
from envs.mario_task import MarioTask
from envs.task import EvalResult
from genomes.phenotype import Network

PANEL_WIDTH = 176
CELL = 12
COLOURS = {0.0: (20, 20, 36), SOLID: (200, 200, 200), ENEMY: (220, 50, 50), MARIO: (60, 140, 255)}
BACKGROUND, TEXT, LIT = (0, 0, 0), (150, 150, 150), (255, 220, 0)


def record(task: MarioTask, network: Network, rng: np.random.Generator, sink: Callable[[np.ndarray], None]
           ) -> EvalResult:
    """Play one episode, handing `sink` a composed frame per emulated frame; in world mode each level in turn, one
    video, scored as `MarioTask.evaluate` scores an episode."""
    noops = int(rng.integers(0, task.noop_max + 1)) if task.noop_max else 0
    seen = {"grid": np.zeros((task.grid_height, task.grid_width), dtype=np.float32), "choice": -1}

    def on_decision(ram: np.ndarray, inputs: np.ndarray, choice: int) -> None:
        seen["grid"] = task.window.grid(ram)
        seen["choice"] = choice

    def on_frame() -> None:
        marked = None if task.grid_anchor == "screen" else (-task.grid_top, -task.grid_left)
        sink(compose(task.emulator.screen(), seen["grid"], task.actions, int(seen["choice"]), marked))

    if not task.levels:
        episode = task.play(network, noops, on_frame, on_decision)
        metrics = {"max_x": float(episode.max_x), "flag": float(episode.flag), "frames": float(episode.frames)}
        return EvalResult(task.fitness(episode), metrics, solved=episode.flag)
    played = {level: task.play(network, noops, on_frame, on_decision, level=level) for level in task.levels}
    return task.world_result({level: [episode] for level, episode in played.items()})


def compose(
    screen: np.ndarray, grid: np.ndarray, actions: list[str], choice: int, mario: tuple[int, int] | None = None
) -> np.ndarray:
    """The game screen with the panel to its right, (224, 240 + PANEL_WIDTH, 3) uint8. `mario` (row, column)
    outlines his cell when the grid does not mark it."""
    height = screen.shape[0]
    panel = Image.new("RGB", (PANEL_WIDTH, height), BACKGROUND)
    draw = ImageDraw.Draw(panel)
    rows, columns = grid.shape
    cell = min(CELL, (PANEL_WIDTH - 8) // columns, (height // 2) // rows)
    left = (PANEL_WIDTH - cell * columns) // 2
    for i in range(rows):
        for j in range(columns):
            colour = COLOURS.get(float(grid[i, j]), COLOURS[0.0])
            x, y = left + j * cell, 6 + i * cell
            draw.rectangle([x, y, x + cell - 2, y + cell - 2], fill=colour)
            if (i, j) == mario:
                draw.rectangle([x, y, x + cell - 2, y + cell - 2], outline=COLOURS[MARIO], width=2)
    y = 12 + rows * cell
    for k, name in enumerate(actions):
        lit = k == choice
        draw.rectangle([6, y + 1, 14, y + 9], fill=LIT if lit else (50, 50, 50))
        draw.text((20, y), name, fill=LIT if lit else TEXT)
        y += 12
    return np.concatenate([screen, np.asarray(panel)], axis=1)
