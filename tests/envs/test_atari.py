"""Atari through ale-py: observation shapes, determinism, lock-step batches equal to genome-by-genome play."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from envs.atari import ACTION_NAMES, AtariTask
from envs.task import TaskSetupError
from evolve.config import ConfigError
from genomes.neat_genome import NeatGenome
from tests.envs.test_atari_objects import follow_the_pong_crossing
from tests.neat_helpers import busy_config, grow
from tests.run_helpers import run_config


class Policy:
    """A stand-in network: a fixed random linear map of the observation (deterministic, input-dependent)."""

    def __init__(self, inputs: int, outputs: int, seed: int) -> None:
        self.w = np.random.default_rng(seed).normal(size=(inputs, outputs))
        self.seen: list[np.ndarray] = []

    def reset(self) -> None:
        pass

    def activate(self, x: np.ndarray) -> np.ndarray:
        self.seen.append(np.array(x))
        return x @ self.w


@pytest.mark.parametrize("game, obs, size, actions", [("pong", "ram", 128, 6), ("pong", "pixels", 21 * 16, 6),
                                                       ("freeway", "objects", 5, 3)])
def test_observations_have_the_declared_shape_and_range(game, obs, size, actions):
    task = AtariTask(game=game, obs=obs, max_frames=200)
    policy = Policy(task.num_inputs, task.num_outputs, 0)
    task.evaluate(policy, np.random.default_rng(0))
    seen = np.concatenate(policy.seen)
    assert task.num_inputs == size and seen.shape[1] == size
    assert seen.min() >= 0.0 and seen.max() <= 1.0 and seen.std() > 0
    assert task.num_outputs == actions, "the game's minimal action set"


def test_without_sticky_actions_an_episode_depends_on_the_policy_only():
    task = AtariTask(game="boxing", sticky=0.0, max_frames=1500)
    policy = Policy(task.num_inputs, task.num_outputs, 3)
    first = task.evaluate(policy, np.random.default_rng(1))
    assert first == task.evaluate(policy, np.random.default_rng(2))
    other = task.evaluate(Policy(task.num_inputs, task.num_outputs, 4), np.random.default_rng(1))
    assert other != first, "a different policy plays differently"


def test_sticky_actions_follow_the_seed():
    task = AtariTask(game="boxing", sticky=0.25, max_frames=1500, episodes=2)
    policy = Policy(task.num_inputs, task.num_outputs, 3)
    scores = {task.evaluate(policy, np.random.default_rng(s)).fitness for s in range(4)}
    assert task.evaluate(policy, np.random.default_rng(0)) == task.evaluate(policy, np.random.default_rng(0))
    assert len(scores) > 1, "sticky actions change the episode from seed to seed"


@pytest.mark.parametrize("config_name", ["atari-boxing-ram", "atari-freeway-objects"])
def test_lock_step_batch_equals_genome_by_genome_play(config_name):
    config = run_config(config_name, "env.max_frames=800", "env.episodes=2")
    task = AtariTask(**config.env.kwargs)
    neat = busy_config(num_inputs=task.num_inputs, num_outputs=task.num_outputs, activation_options=["tanh"],
                       aggregation_options=["sum"], initial_connection="partial", initial_connection_fraction=0.1)
    genomes: list[NeatGenome] = [grow(neat, seed, 8) for seed in range(6)]
    seeds = list(range(100, 106))
    batch = task.evaluate_batch(genomes, seeds)
    single = [task.evaluate(g.phenotype(), np.random.default_rng(s)) for g, s in zip(genomes, seeds)]
    assert batch == single
    assert len({r.fitness for r in batch}) > 1


def test_the_action_names_are_ale_pys():
    import ale_py

    assert set(ACTION_NAMES) == set(ale_py.Action.__members__) and len(ACTION_NAMES) == 18


class Pressing:
    """A stand-in network that always picks output `index`."""

    def __init__(self, outputs: int, index: int) -> None:
        self.outputs, self.index = outputs, index

    def reset(self) -> None:
        pass

    def activate(self, x: np.ndarray) -> np.ndarray:
        return np.tile(np.arange(self.outputs) == self.index, (len(x), 1)).astype(float)


def paddle_path(task: AtariTask, index: int) -> list[int]:
    """Pong's agent paddle, frame by frame, while the network always picks output `index` (sticky actions on)."""
    path: list[int] = []
    task.play(lambda obs, _: np.full(len(obs), index), [np.random.default_rng(5)],
              lambda ale: path.append(int(ale.getRAM()[51])))
    return path


def test_configured_actions_are_the_outputs_and_play_as_the_same_ale_actions():
    minimal = AtariTask(game="pong", max_frames=400)
    chosen = AtariTask(game="pong", max_frames=400, actions=["LEFT", "NOOP", "RIGHT"])
    assert [a.name for a in minimal.action_set] == ["NOOP", "FIRE", "RIGHT", "LEFT", "RIGHTFIRE", "LEFTFIRE"]
    assert chosen.num_outputs == 3 and chosen.interface()["outputs"] == ["LEFT", "NOOP", "RIGHT"]
    for name in ("LEFT", "RIGHT", "NOOP"):
        same = paddle_path(chosen, chosen.actions.index(name))
        assert same == paddle_path(minimal, [a.name for a in minimal.action_set].index(name))
    assert paddle_path(chosen, 0)[-1] > paddle_path(chosen, 1)[-1] > paddle_path(chosen, 2)[-1], \
        "in Pong, LEFT moves the paddle down and RIGHT up"
    assert chosen.evaluate(Pressing(3, 0), np.random.default_rng(0)) == \
        minimal.evaluate(Pressing(6, 3), np.random.default_rng(0))
    stuck = AtariTask(game="pong", max_frames=400, sticky=1.0, actions=["RIGHT"])
    assert paddle_path(stuck, 0) == paddle_path(dataclasses.replace(minimal, sticky=1.0), 0), \
        "an episode starts from NOOP, which sticky actions repeat, whichever actions are configured"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(ACTION_NAMES + ("JUMP", "noop", "")), max_size=6))
def test_any_distinct_ale_action_names_are_accepted_and_anything_else_is_a_config_error(names):
    overrides = ["env.actions=" + json.dumps(names)]
    if all(n in ACTION_NAMES for n in names) and len(set(names)) == len(names):
        task = AtariTask(**run_config("atari-pong-ram", *overrides).env.kwargs)
        assert [a.name for a in task.action_set] == names or not names
        assert task.num_outputs == (len(names) or 6)
    else:
        with pytest.raises(ConfigError, match="env"):
            run_config("atari-pong-ram", *overrides)


def test_pongs_fire_actions_return_the_ball_faster():
    """What configs/atari-pong-objects.toml gives up by leaving FIRE out: a ball returned while FIRE is held leaves
    the paddle at several pixels a frame, one returned without it at one."""
    def return_speeds(names: list[str]) -> set[int]:
        task = AtariTask(game="pong", obs="objects", sticky=0.0, max_frames=3000, actions=names)  # stay, up, down
        seen: list[int] = []
        task.play(follow_the_pong_crossing(task, up=1, down=2), [np.random.default_rng(0)],
                  lambda ale: seen.append(int(ale.getRAM()[49])))
        x = np.array(seen)
        step = np.diff(x)
        turned = np.flatnonzero((step[:-1] > 0) & (step[1:] < 0) & (x[1:-1] > 150)) + 1  # the agent's returns
        return {int(-step[t + 2]) for t in turned if t + 2 < len(step)}

    plain, fire = return_speeds(["NOOP", "RIGHT", "LEFT"]), return_speeds(["FIRE", "RIGHTFIRE", "LEFTFIRE"])
    assert plain == {1}, plain
    assert min(fire) >= 2, fire


def test_protocol_is_in_the_resolved_config_and_bad_values_are_clear():
    config = run_config("atari-pong-ram")
    resolved = config.to_toml()
    for line in ('game = "pong"', "frame_skip = 4", "sticky = 0.25", "max_frames = 18000"):
        assert line in resolved
    with pytest.raises(ConfigError, match="pixel_height must divide 210"):
        run_config("atari-pong-ram", "env.obs=pixels", "env.pixel_height=20")
    with pytest.raises(ConfigError, match="env.sticky must be <= 1.0"):
        run_config("atari-pong-ram", "env.sticky=1.5")
    with pytest.raises(ConfigError, match="env.actions: unknown value 'JUMP'"):
        run_config("atari-pong-ram", 'env.actions=["NOOP", "JUMP"]')
    with pytest.raises(ConfigError, match="actions must not repeat an action"):
        run_config("atari-pong-ram", 'env.actions=["NOOP", "NOOP"]')
    with pytest.raises(TaskSetupError, match="unknown Atari game 'pongg'"):
        AtariTask(game="pongg").prepare()


def test_replay_of_a_genome_file_writes_a_gif_and_bad_requests_exit_2(tmp_path, capsys):
    import imageio.v3 as iio

    from evolve.cli import main
    from genomes.base import MutationContext
    from genomes.innovation import InnovationTracker
    from genomes.neat_config import NeatGenomeConfig

    neat = NeatGenomeConfig(num_inputs=128, num_outputs=6, initial_connection="partial",
                            initial_connection_fraction=0.1)
    genome = NeatGenome.initial(neat, np.random.default_rng(0), MutationContext(neat, InnovationTracker()))
    path = tmp_path / "pong.json"
    path.write_text(json.dumps(genome.to_dict()))
    pong = ["--env", "atari", "--set", "env.game=pong", "--set", "env.max_frames=400"]
    assert main(["replay", str(path), *pong, "-o", str(tmp_path / "pong.gif")]) == 0
    frames = iio.imread(tmp_path / "pong.gif", index=None)
    # every 4th of the 400 frames, less the identical ones Pillow merges into longer delays
    assert 50 < frames.shape[0] <= 400 // 4 and frames.shape[1:3] == (210, 160)
    assert main(["replay", str(path), *pong, "-o", str(tmp_path / "pong.avi")]) == 2
    assert main(["replay", str(path), "--env", "atari", "--set", "env.game=boxing", "-o", str(tmp_path / "b.gif")]) == 2
    assert main(["replay", str(path), "-o", str(tmp_path / "x.gif")]) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("evolve: error")]
    assert len(errors) == 3
    assert "must be .mp4 or .gif" in errors[0] and "needs 128 and 18" in errors[1] and "--env" in errors[2]
