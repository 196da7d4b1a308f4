"""Object views of Atari games: a few egocentric features decoded from the console's RAM, instead of its 128 bytes.

The same idea as Mario's tile grid read out of RAM around Mario: the network is told where things are relative to
the player, and evolution only has to learn what to do about them. A view is specific to its game (the RAM layout
is the cartridge's own), so only the games listed in `VIEWS` have one. Every feature is a function of the RAM at
this decision and at the previous one (velocities; the first decision sees no motion), scaled into [-1, 1].

Freeway (`ram[14]` the chicken's height, 6 at the kerb to 177 at the far side; `ram[108 + k]` the x of the car in
lane k, lanes 0-4 driving right and 5-9 left, at the speeds in `FREEWAY_SPEEDS`): sensors at fixed heights around
the chicken each report the time until the car in the lane at that height reaches the chicken's column, in frames
up to `FREEWAY_HORIZON` (0: the car is in the column now; 1: no car within the horizon, or no lane there), and the
chicken's height; all in [0, 1]. Lanes are 16 height units from 6 (`freeway_lane`). The cars that can hit a
chicken at height h are those of lane (h - 14) // 16 (measured), which this division names the lane at h - 8: the
-8 sensor watches the lane that can hit the chicken now, and 0, +8 and +16 look half a lane, one lane and one and a
half lanes further up.

Pong (`ram[51]` the agent's paddle, right, `ram[50]` the opponent's, `ram[49]` and `ram[54]` the ball's x and y, y
0 while no ball is in play): whether a ball is in play, its distance to the agent's paddle, its velocity, where it
will cross the paddle's line (straight flight with bounces off the walls; while the ball is not moving towards
the paddle, its height instead; once past the line, extrapolated backwards) relative to the paddle, its height
relative to the paddle, the paddle's velocity, and the opponent's paddle's y minus the ball's. The ball meets the
agent's paddle's middle when the crossing or the height reads 0; positions are over `PONG_SCALE` pixels, capped
at 1.
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


PONG_PADDLE_X = 189  # the ball's x when it meets the agent's paddle
PONG_WALLS = (44, 207)  # the ball's y at the top and bottom walls
PONG_MIDDLE = 7  # ball y - paddle y when the ball meets the paddle's middle (the paddle spans 0..15)
PONG_SCALE = 16.0  # pixels of relative position that read 1


@dataclass(frozen=True)
class ObjectView:
    """Features decoded from one game's RAM: `read(ram, previous)` maps this decision's 128 bytes and the previous
    decision's to `len(names)` values in [-1, 1]."""

    names: tuple[str, ...]
    read: Callable[[np.ndarray, np.ndarray], np.ndarray]
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


def freeway_features(ram: np.ndarray, previous: np.ndarray) -> np.ndarray:
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

def pong_crossing(x: float, y: float, dx: float, dy: float) -> float:
    """The y where a ball at (x, y) moving (dx, dy) per step, dx > 0, crosses the agent's paddle line."""
    if dx <= 0:
        raise ValueError(f"a ball moving dx = {dx} never reaches the agent's paddle line")
    top, bottom = PONG_WALLS
    span = bottom - top
    folded = (y + dy * (PONG_PADDLE_X - x) / dx - top) % (2 * span)
    return top + (folded if folded < span else 2 * span - folded)


def pong_features(ram: np.ndarray, previous: np.ndarray) -> np.ndarray:
    ball_x, ball_y, paddle, opponent = (int(ram[i]) for i in (49, 54, 51, 50))
    last_x, last_y, last_paddle = (int(previous[i]) for i in (49, 54, 51))
    in_play = ball_y != 0 and last_y != 0
    dx, dy = (ball_x - last_x, ball_y - last_y) if in_play else (0, 0)  # pixels since the previous decision
    height = ball_y - paddle - PONG_MIDDLE
    crossing = pong_crossing(ball_x, ball_y, dx, dy) - paddle - PONG_MIDDLE if in_play and dx > 0 else height
    features = [
        float(ball_y != 0),
        (PONG_PADDLE_X - ball_x) / PONG_PADDLE_X if ball_y else 1.0,
        dx / 16, dy / 16,
        crossing / PONG_SCALE if ball_y else 0.0,
        height / PONG_SCALE if ball_y else 0.0,
        (paddle - last_paddle) / 32,
        (opponent - ball_y) / PONG_SCALE if ball_y else 0.0,
    ]
    return np.clip(features, -1.0, 1.0)


PONG = ObjectView(
    names=("ball in play", "ball distance to the paddle", "ball dx", "ball dy", "ball crossing relative to paddle",
           "ball height relative to paddle", "paddle velocity", "opponent relative to ball"),
    read=pong_features,
    description=f"ball in play; its distance to the paddle line over {PONG_PADDLE_X}; its motion since the "
                f"previous decision over 16 pixels; where it will cross the paddle's line and its height, relative "
                f"to the paddle's middle, over {PONG_SCALE:g}; the paddle's motion over 32; the opponent's paddle "
                f"minus the ball's height over {PONG_SCALE:g}; all capped to [-1, 1]",
)

VIEWS: dict[str, ObjectView] = {"freeway": FREEWAY, "pong": PONG}
