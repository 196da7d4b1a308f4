"""Wieland's double pole cart as in the NEAT paper's reference code (Gomez's physics in Stanley's cartpole.cpp).

State (x, xdot, theta1, thetadot1, theta2, thetadot2): cart position and velocity, long pole (m 0.1, half-length
0.5) and short pole (m 0.01, half-length 0.05) angles from vertical. One network action a in [0, 1] pushes with
force (a - 0.5) * 20 N for 0.02 s: two classic RK4 steps of TAU = 0.01 s. The episode fails once |x| > 2.4 m or
either pole leans more than 36 degrees (a NaN state fails too).

`advance` moves one cart held in plain floats (the fast path for one episode); `advance_batch` moves a (B, 6)
array of carts. Both run the same arithmetic (`_rk4`), so they agree to rounding. `envs.double_pole_env` wraps the
physics as a Gymnasium environment ("DoublePole-v0", "DoublePoleNoVelocity-v0"); this module needs numpy alone.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

GRAVITY = -9.8
MASS_CART = 1.0
MASS_POLE_1 = 0.1
LENGTH_1 = 0.5  # half-length of the long pole
MASS_POLE_2 = 0.01
LENGTH_2 = 0.05  # half-length of the short pole
MUP = 0.000002  # pole hinge friction
FORCE_MAG = 10.0
TAU = 0.01  # RK4 step, seconds; two steps per action
X_LIMIT = 2.4
ANGLE_LIMIT = 0.628329  # 36 degrees, the reference code's `thirty_six_degrees`

START_STATE: tuple[float, ...] = (0.0, 0.0, 0.07, 0.0, 0.0, 0.0)  # long pole at 0.07 rad (~4 degrees)
OBS_SCALE = np.array([4.8, 2.0, 0.52, 2.0, 0.52, 2.0])  # the reference code's input normalization
POSITION_COLUMNS = np.array([0, 2, 4])  # what the non-Markov variant observes

_ML_1 = LENGTH_1 * MASS_POLE_1
_ML_2 = LENGTH_2 * MASS_POLE_2
_HH = TAU * 0.5
_H6 = TAU / 6.0

State = tuple[float, float, float, float, float, float]


def _accelerations(t1, w1, t2, w2, force, sin, cos):
    """(xddot, thetaddot1, thetaddot2) as in cartpole.cpp `step()`; floats with math or arrays with numpy."""
    c1, s1 = cos(t1), sin(t1)
    c2, s2 = cos(t2), sin(t2)
    gs1, gs2 = GRAVITY * s1, GRAVITY * s2
    temp1 = MUP * w1 / _ML_1
    temp2 = MUP * w2 / _ML_2
    fi1 = _ML_1 * w1 * w1 * s1 + 0.75 * MASS_POLE_1 * c1 * (temp1 + gs1)
    fi2 = _ML_2 * w2 * w2 * s2 + 0.75 * MASS_POLE_2 * c2 * (temp2 + gs2)
    mi1 = MASS_POLE_1 * (1 - 0.75 * c1 * c1)
    mi2 = MASS_POLE_2 * (1 - 0.75 * c2 * c2)
    xdd = (force + fi1 + fi2) / (mi1 + mi2 + MASS_CART)
    return xdd, -0.75 * (xdd * c1 + gs1 + temp1) / LENGTH_1, -0.75 * (xdd * c2 + gs2 + temp2) / LENGTH_2


def _rk4(x, v, t1, w1, t2, w2, force, sin, cos):
    """One classic RK4 step of TAU, in the reference `rk4()` order of operations."""
    acc = _accelerations
    a0, b0, c0 = acc(t1, w1, t2, w2, force, sin, cos)
    # The derivatives do not depend on x, so the intermediate cart positions are never formed.
    # midpoint 1: y + h/2 * k1
    va, t1a, w1a, t2a, w2a = v + _HH * a0, t1 + _HH * w1, w1 + _HH * b0, t2 + _HH * w2, w2 + _HH * c0
    a1, b1, c1 = acc(t1a, w1a, t2a, w2a, force, sin, cos)
    # midpoint 2: y + h/2 * k2
    vb, t1b, w1b, t2b, w2b = v + _HH * a1, t1 + _HH * w1a, w1 + _HH * b1, t2 + _HH * w2a, w2 + _HH * c1
    a2, b2, c2 = acc(t1b, w1b, t2b, w2b, force, sin, cos)
    # end point: y + h * k3
    vc, t1c, w1c, t2c, w2c = v + TAU * a2, t1 + TAU * w1b, w1 + TAU * b2, t2 + TAU * w2b, w2 + TAU * c2
    a3, b3, c3 = acc(t1c, w1c, t2c, w2c, force, sin, cos)
    return (
        x + _H6 * (v + vc + 2.0 * (vb + va)),
        v + _H6 * (a0 + a3 + 2.0 * (a2 + a1)),
        t1 + _H6 * (w1 + w1c + 2.0 * (w1b + w1a)),
        w1 + _H6 * (b0 + b3 + 2.0 * (b2 + b1)),
        t2 + _H6 * (w2 + w2c + 2.0 * (w2b + w2a)),
        w2 + _H6 * (c0 + c3 + 2.0 * (c2 + c1)),
    )


def action_force(action: Any) -> Any:
    """Force in newtons for network actions in [0, 1] (a float or an array)."""
    return (action - 0.5) * FORCE_MAG * 2


def advance(state: State, action: float) -> State:
    """One control step (two RK4 steps) of a single cart held in plain floats."""
    force = action_force(action)
    return _rk4(*_rk4(*state, force, math.sin, math.cos), force, math.sin, math.cos)


def failed(state: State) -> bool:
    """Whether a single cart is out of bounds (or NaN)."""
    x, _, t1, _, t2, _ = state
    return not (-X_LIMIT <= x <= X_LIMIT and -ANGLE_LIMIT <= t1 <= ANGLE_LIMIT and -ANGLE_LIMIT <= t2 <= ANGLE_LIMIT)


def advance_batch(states: np.ndarray, actions: np.ndarray) -> np.ndarray:
    """One control step for a (B, 6) array of carts with (B,) actions; returns a new (B, 6) array."""
    force = action_force(np.asarray(actions, dtype=np.float64))
    s = _rk4(*np.asarray(states, dtype=np.float64).T, force, np.sin, np.cos)
    return np.stack(_rk4(*s, force, np.sin, np.cos), axis=1)


def failed_batch(states: np.ndarray) -> np.ndarray:
    """(B,) bool: which carts are out of bounds (or NaN)."""
    inside = (np.abs(states[:, 0]) <= X_LIMIT) & (np.abs(states[:, 2]) <= ANGLE_LIMIT)
    return ~(inside & (np.abs(states[:, 4]) <= ANGLE_LIMIT))


def observe(states: np.ndarray, velocities: bool) -> np.ndarray:
    """Normalized network inputs of (..., 6) states: 6 values, or x, theta1, theta2 without velocities."""
    obs = np.asarray(states, dtype=np.float64) / OBS_SCALE
    return obs if velocities else obs[..., POSITION_COLUMNS]
