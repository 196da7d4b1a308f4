"""Atari object views: features decoded from RAM agree with the real game, and carry what a policy needs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from envs.atari import AtariTask, new_ale
from envs.atari_objects import (
    FREEWAY_COLUMN,
    FREEWAY_SPEEDS,
    PONG_PADDLE_X,
    PONG_WALLS,
    VIEWS,
    freeway_lane,
    freeway_time_to_column,
    pong_crossing,
)
from evolve.config import ConfigError
from tests.run_helpers import REPO, run_config


@given(car_x=st.integers(0, 159), lane=st.integers(0, 9), frames=st.floats(0.0, 200.0))
def test_time_to_column_falls_as_the_car_drives(car_x, lane, frames):
    speed = FREEWAY_SPEEDS[lane]
    time = freeway_time_to_column(car_x, speed)
    lo, hi = FREEWAY_COLUMN
    assert (time == 0.0) == (lo <= car_x <= hi)
    assert 0.0 <= time <= 160 / abs(speed)
    if time > 0 and frames < time - 1:
        later = round(car_x + speed * frames) % 160  # whole pixels, as the console keeps them
        assert freeway_time_to_column(later, speed) == pytest.approx(time - frames, abs=1 / abs(speed))


def test_lanes_cover_the_road_in_order():
    lanes = np.array([freeway_lane(h) for h in range(256)])
    road = lanes[lanes >= 0]
    assert (np.diff(road) >= 0).all() and set(road) == set(range(10))
    assert (np.bincount(road)[1:9] == 16).all() and lanes[6:22].tolist() == [0] * 16
    assert lanes[6] == 0 and lanes[177] == -1, "the kerb is in lane 0; the far side is off the road"


def test_every_lanes_car_reaches_the_column_when_its_time_says():
    """The speeds and the column are the game's: step the real emulator by each lane's predicted time."""
    ale = new_ale("freeway", 18000)
    noop = ale.getMinimalActionSet()[0]
    ale.reset_game()
    for _ in range(300):
        ale.act(noop)
    start = ale.getRAM().astype(int)
    times = [freeway_time_to_column(start[108 + k], FREEWAY_SPEEDS[k]) for k in range(10)]
    arrivals = {}
    for frame in range(1, 820):
        ale.act(noop)
        ram = ale.getRAM().astype(int)
        for k in range(10):
            if k not in arrivals and FREEWAY_COLUMN[0] <= ram[108 + k] <= FREEWAY_COLUMN[1]:
                arrivals[k] = frame
    for k in range(10):
        if times[k] > 0:
            assert k in arrivals, f"lane {k}'s car never reached the column (predicted in {times[k]:.1f} frames)"
            tolerance = 1 + 1 / abs(FREEWAY_SPEEDS[k])  # a slow car moves a whole pixel every few frames
            assert abs(arrivals[k] - times[k]) <= tolerance, f"lane {k}: {arrivals[k]} vs {times[k]:.1f}"


def test_a_threshold_on_the_sensor_ahead_beats_always_up():
    """The view carries the dodge: wait while the car of the lane just ahead is under 8 frames from the column."""
    task = AtariTask(game="freeway", obs="objects", max_frames=8192)
    task.prepare()
    ahead = task.interface()["inputs"].index("time to column, lane at height +8")
    rngs = [np.random.default_rng(s) for s in (5, 6)]
    dodging, _ = task.play(lambda obs, _: np.where(obs[:, ahead] < 0.25, 0, 1), rngs)
    always_up, _ = task.play(lambda obs, _: np.ones(len(obs), dtype=int), [np.random.default_rng(s) for s in (5, 6)])
    assert task.num_inputs == 5 and len(task.interface()["inputs"]) == 5
    assert dodging.min() >= always_up.max() + 5, (dodging, always_up)


@given(x=st.integers(0, 188), y=st.integers(PONG_WALLS[0], PONG_WALLS[1]), dx=st.integers(1, 12),
       dy=st.integers(-12, 12))
def test_pong_crossing_stays_between_the_walls_and_is_straight_without_a_bounce(x, y, dx, dy):
    crossing = pong_crossing(x, y, dx, dy)
    assert PONG_WALLS[0] <= crossing <= PONG_WALLS[1]
    straight = y + dy * (PONG_PADDLE_X - x) / dx
    if PONG_WALLS[0] <= straight <= PONG_WALLS[1]:
        assert crossing == pytest.approx(straight)


def test_a_ball_moving_away_has_no_crossing():
    with pytest.raises(ValueError, match="never reaches the agent's paddle line"):
        pong_crossing(100, 100, 0, 3)


def test_pong_crossing_predicts_where_the_real_ball_reaches_the_paddle():
    """Predictions made while the ball flies towards the agent, against its y when it reaches the paddle's line."""
    ale = new_ale("pong", 18000)
    noop = ale.getMinimalActionSet()[0]
    ale.reset_game()
    errors, pending, last = [], [], None
    for _ in range(6000):
        for _ in range(4):
            ale.act(noop)
        ram = ale.getRAM().astype(int)
        x, y = ram[49], ram[54]
        if last is not None and y and last[1] and 60 < x < 150 and x > last[0]:
            pending.append(pong_crossing(x, y, x - last[0], y - last[1]))
        if pending and y and x >= PONG_PADDLE_X:
            errors += [abs(p - y) for p in pending]
            pending = []
        if not y:
            pending = []
        last = (x, y)
    assert len(errors) > 50
    assert np.median(errors) <= 4, np.percentile(errors, [50, 90])


def follow_the_pong_crossing(task: AtariTask, up: int, down: int):
    """A `choose` for `task.play` on Pong's object view: output `up` or `down` towards where the ball will cross the
    paddle's line, 0 within 0.03 of it."""
    crossing = task.interface()["inputs"].index("ball crossing relative to paddle")

    def follow(obs, _):
        return np.where(obs[:, crossing] > 0.03, down, np.where(obs[:, crossing] < -0.03, up, 0))

    return follow


def test_following_the_pong_crossing_loses_fewer_points_than_standing_still():
    task = AtariTask(game="pong", obs="objects", max_frames=4096)
    task.prepare()
    up, down = (task.action_set.index(a) for a in task.action_set if a.name in ("RIGHT", "LEFT"))
    rngs = [np.random.default_rng(s) for s in (5, 6)]
    following, _ = task.play(follow_the_pong_crossing(task, up, down), rngs)
    still, _ = task.play(lambda obs, _: np.zeros(len(obs), dtype=int), [np.random.default_rng(s) for s in (5, 6)])
    assert following.min() >= still.max() + 3, (following, still)


@pytest.mark.parametrize("game", sorted(VIEWS))
def test_a_view_names_its_features_and_stays_in_range(game):
    task = AtariTask(game=game, obs="objects", max_frames=2000)
    task.prepare()
    rng = np.random.default_rng(0)
    seen = []

    def random_play(obs, _):
        seen.append(np.array(obs))
        return rng.integers(task.num_outputs, size=len(obs))

    task.play(random_play, [np.random.default_rng(0)])
    seen = np.concatenate(seen)
    assert seen.shape[1] == task.num_inputs == len(VIEWS[game].names)
    assert seen.min() >= -1.0 and seen.max() <= 1.0
    assert (seen.std(axis=0) > 0).sum() >= task.num_inputs - 1, "all features but at most one move in play"


def test_objects_need_a_game_with_a_view(capsys):
    from evolve.cli import main

    with pytest.raises(ConfigError, match="no object view for 'boxing'.*supports \\['freeway', 'pong'\\]"):
        run_config("atari-boxing-ram", "env.obs=objects")
    assert main(["run", str(REPO / "configs" / "atari-boxing-ram.toml"), "--set", "env.obs=objects"]) == 2
    assert "no object view for 'boxing'" in capsys.readouterr().err
