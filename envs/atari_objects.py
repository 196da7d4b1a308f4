"""Object views of Atari games: a few egocentric features decoded from the console's RAM, instead of its 128 bytes.

The same idea as Mario's tile grid read out of RAM around Mario: the network is told where things are relative to
the player, and evolution only has to learn what to do about them. A view is specific to its game (the RAM layout
is the cartridge's own), so only the games listed in `VIEWS` have one. Every feature is a function of the RAM
alone, and scaled to [0, 1].

Freeway (`ram[14]` the chicken's height, 6 at the kerb to 177 at the far side; `ram[108 + k]` the x of the car in
lane k, lanes 0-4 driving right and 5-9 left, at the speeds in `FREEWAY_SPEEDS`): sensors at fixed heights around
the chicken each report the time until the car in the lane at that height reaches the chicken's column, in frames
up to `FREEWAY_HORIZON` (0: the car is in the column now; 1: no car within the horizon, or no lane there), and the
chicken's height.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

FREEWAY_SPEEDS = 1 / np.array([5, 4, 3, 2, 1, -1, -2, -3, -4, -5])  # pixels per frame, per lane
FREEWAY_COLUMN = (40, 52)  # a car whose x byte is in this range (inclusive) overlaps the chicken's column
FREEWAY_SENSORS = (-8, 0, 8, 16)  # heights above the chicken (RAM units) whose lane is sensed
FREEWAY_HORIZON = 32.0  # frames
FREEWAY_TOP = 177  # the chicken's height when it reaches the far side


@dataclass(frozen=True)
class ObjectView:
    """Features decoded from one game's RAM: `read(ram)` maps the 128 bytes to `len(names)` values in [0, 1]."""

    names: tuple[str, ...]
    read: Callable[[np.ndarray], np.ndarray]
    description: str


def freeway_lane(height: int) -> int:
    """The lane (0 nearest the start) at a chicken height, or -1 on the pavements."""
    if not 4 < height < 172:
        return -1
    return min((height - 6) // 16, 9) if height > 6 else 0


def freeway_time_to_column(car_x: int, speed: float) -> float:
    """Frames until a car at `car_x` driving at `speed` (pixels per frame, signed) overlaps the chicken's column."""
    lo, hi = FREEWAY_COLUMN
    if lo <= car_x <= hi:
        return 0.0
    distance = (lo - car_x) % 160 if speed > 0 else (car_x - hi) % 160
    return distance / abs(speed)


def freeway_features(ram: np.ndarray) -> np.ndarray:
    height = int(ram[14])
    times = []
    for offset in FREEWAY_SENSORS:
        lane = freeway_lane(height + offset)
        time = FREEWAY_HORIZON if lane < 0 else freeway_time_to_column(int(ram[108 + lane]), FREEWAY_SPEEDS[lane])
        times.append(min(time, FREEWAY_HORIZON) / FREEWAY_HORIZON)
    return np.array([*times, min(height, FREEWAY_TOP) / FREEWAY_TOP])


FREEWAY = ObjectView(
    names=tuple(f"time to column, lane at height {o:+d}" for o in FREEWAY_SENSORS) + ("chicken height",),
    read=freeway_features,
    description=f"for the lanes at heights {list(FREEWAY_SENSORS)} around the chicken (RAM units), frames until "
                f"that lane's car reaches the chicken's column over {FREEWAY_HORIZON:g} (capped at 1); the chicken's "
                f"height over {FREEWAY_TOP}",
)

VIEWS: dict[str, ObjectView] = {"freeway": FREEWAY}
