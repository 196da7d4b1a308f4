"""Frames of a cart with poles on a track, drawn with numpy alone: what `evolve replay` records for the pole tasks.

`draw_cart` paints one RGB frame (height, width, 3) of uint8: the track between the position limits, the cart as
a box and each pole as a thick line from the cart's hinge, leaning by its angle from vertical (positive: right).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

BACKGROUND = (255, 255, 255)
TRACK = (90, 90, 90)
CART = (40, 40, 40)
POLES = ((204, 102, 51), (51, 102, 204))


def draw_cart(x: float, angles: Sequence[float], half_lengths: Sequence[float], x_limit: float,
              size: tuple[int, int] = (240, 480)) -> np.ndarray:
    """One frame: the cart at `x` metres on a track of +-`x_limit`, with a pole of each half-length at each angle."""
    height, width = size
    frame = np.empty((height, width, 3), dtype=np.uint8)
    frame[:] = BACKGROUND
    scale = (width * 0.9) / (2 * x_limit)  # pixels per metre
    ground = int(height * 0.8)
    left, right = int(width / 2 - x_limit * scale), int(width / 2 + x_limit * scale)
    frame[ground:ground + 2, left:right] = TRACK
    centre = width / 2 + float(np.clip(x, -x_limit * 1.05, x_limit * 1.05)) * scale
    cart_w, cart_h = int(0.5 * scale), int(0.25 * scale)
    _box(frame, int(centre) - cart_w // 2, ground - cart_h, cart_w, cart_h, CART)
    hinge = (centre, ground - cart_h)
    for index, (angle, half) in enumerate(zip(angles, half_lengths, strict=True)):
        tip = (hinge[0] + np.sin(angle) * 2 * half * scale, hinge[1] - np.cos(angle) * 2 * half * scale)
        _line(frame, hinge, tip, max(2, int(0.04 * scale)), POLES[index % len(POLES)])
    return frame


def _box(frame: np.ndarray, left: int, top: int, width: int, height: int, color: tuple[int, int, int]) -> None:
    h, w = frame.shape[:2]
    frame[max(top, 0):min(top + height, h), max(left, 0):min(left + width, w)] = color


def _line(frame: np.ndarray, start: tuple[float, float], end: tuple[float, float], thickness: int,
          color: tuple[int, int, int]) -> None:
    """A thick segment, as squares of side `thickness` at every pixel along it."""
    length = int(np.hypot(end[0] - start[0], end[1] - start[1])) + 1
    xs = np.linspace(start[0], end[0], length).astype(int)
    ys = np.linspace(start[1], end[1], length).astype(int)
    h, w = frame.shape[:2]
    half = thickness // 2
    for dx in range(-half, thickness - half):
        for dy in range(-half, thickness - half):
            px, py = xs + dx, ys + dy
            inside = (px >= 0) & (px < w) & (py >= 0) & (py < h)
            frame[py[inside], px[inside]] = color
