"""Lock-step evaluation of a whole population scores exactly as genome-by-genome evaluation."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from envs.cartpole import CARTPOLE, MAX_EPISODE_STEPS, RENDER_FPS, REWARD_THRESHOLD
from envs.double_pole_tasks import DoublePoleNoVelocityTask, DoublePoleVelocityTask
from envs.gym_task import GymTask
from envs.lockstep import CartPoleLockstep, SingleEnvLockstep, lockstep_episodes
from genomes.base import MutationContext
from genomes.innovation import InnovationTracker
from genomes.neat_genome import NeatGenome
from tests.neat_helpers import busy_config, grow


def _population(num_inputs: int, num_outputs: int, feed_forward: bool, size: int = 24, **overrides):
    config = busy_config(num_inputs=num_inputs, num_outputs=num_outputs, feed_forward=feed_forward,
                         aggregation_options=["sum"], aggregation_mutate_rate=0.0, **overrides)
    ctx = MutationContext(config, InnovationTracker())
    return [grow(config, seed, 12, ctx) for seed in range(size)]


def _gymnasium_result(task, network, rng):
    """The reference for a GymTask: Gymnasium's own environment, one episode after another."""
    env = gymnasium.make(task.env_id, **({"max_episode_steps": task.max_steps} if task.max_steps else {}))
    returns = []
    for seed in task.episode_seeds(rng):
        network.reset()
        obs, _ = env.reset(seed=int(seed))
        total, done = 0.0, False
        while not done:
            obs, reward, terminated, truncated, _ = env.step(task.act(network.activate(np.asarray(obs, float).ravel())))
            total, done = total + float(reward), terminated or truncated
        returns.append(total)
    return task._result(np.array(returns))


def _assert_batch_equals_single(task, genomes, seeds):
    batch = task.evaluate_batch(genomes, seeds)
    reference = _gymnasium_result if isinstance(task, GymTask) else type(task).evaluate
    single = [reference(task, g.phenotype(), np.random.default_rng(s)) for g, s in zip(genomes, seeds)]
    assert [r.to_dict() for r in batch] == [r.to_dict() for r in single]
    assert [task.evaluate(g.phenotype(), np.random.default_rng(s)).to_dict() for g, s in zip(genomes, seeds)] == [
        r.to_dict() for r in single]


@pytest.mark.parametrize("feed_forward", [True, False])
def test_cartpole_population_in_lock_step_equals_gymnasiums_own_episodes(feed_forward):
    genomes = _population(4, 2, feed_forward, weight_mutate_power=2.0)
    _assert_batch_equals_single(GymTask("CartPole-v1", episodes=3), genomes, list(range(100, 124)))
    _assert_batch_equals_single(GymTask("CartPole-v1", episodes=2, max_steps=60), genomes, list(range(24)))


def test_the_native_cartpole_is_gymnasiums():
    """CartPole-v1 runs on envs.cartpole's constants and limits: they are Gymnasium's."""
    env = gymnasium.make("CartPole-v1")
    base = env.unwrapped
    for name in ("gravity", "masscart", "masspole", "length", "force_mag", "tau", "theta_threshold_radians",
                 "x_threshold", "total_mass", "polemass_length"):
        assert getattr(CARTPOLE, name) == getattr(base, name), name
    assert base.kinematics_integrator == "euler" and not base._sutton_barto_reward
    assert (env.spec.max_episode_steps, env.spec.reward_threshold) == (MAX_EPISODE_STEPS, REWARD_THRESHOLD)
    assert env.metadata["render_fps"] == RENDER_FPS
    task = GymTask("CartPole-v1")
    assert task.native and (task.num_inputs, task.num_outputs, task.threshold) == (4, 2, REWARD_THRESHOLD)
    assert not GymTask("Acrobot-v1").native


def test_any_gymnasium_env_runs_in_lock_step_one_instance_per_episode():
    task = GymTask("Acrobot-v1", episodes=2, max_steps=40)
    assert isinstance(lockstep_episodes(task.make_env, 3), SingleEnvLockstep)
    genomes = _population(6, 3, True, size=6)
    _assert_batch_equals_single(task, genomes, list(range(6)))
    _assert_batch_equals_single(task, genomes[::-1], list(range(6)))  # the environments dropped last time are back


@settings(max_examples=25, deadline=None)
@given(seeds=st.lists(st.integers(0, 2**31 - 2), min_size=1, max_size=8))
def test_vector_cartpole_starts_where_the_single_env_starts(seeds):
    lockstep = CartPoleLockstep(gymnasium.make("CartPole-v1").unwrapped, len(seeds), max_steps=500)
    env = gymnasium.make("CartPole-v1")
    expected = np.stack([env.reset(seed=s)[0] for s in seeds])
    np.testing.assert_array_equal(lockstep.reset(seeds), expected)


@pytest.mark.parametrize("task, num_inputs, feed_forward", [
    (DoublePoleVelocityTask(max_steps=2000), 6, True),
    (DoublePoleNoVelocityTask(max_steps=300), 3, False),
])
def test_double_pole_population_in_lock_step_matches_per_genome(task, num_inputs, feed_forward):
    genomes = _population(num_inputs, 1, feed_forward, size=30, weight_mutate_power=3.0)
    batch = task.evaluate_batch(genomes, [0] * len(genomes))
    single = [task.evaluate(g.phenotype(), np.random.default_rng(0)) for g in genomes]
    assert [r.metrics["steps"] for r in batch] == [r.metrics["steps"] for r in single]
    np.testing.assert_allclose([r.fitness for r in batch], [r.fitness for r in single], rtol=1e-9)


def _pd_controller(gain: float, noise_seed: int) -> NeatGenome:
    """Pushes right when gain * (theta + theta_dot) outweighs the other output: balances for long stretches."""
    rng = np.random.default_rng(noise_seed)
    weights = [0.0, 0.0, 0.0, 0.1, -gain, gain, -gain, gain] + rng.normal(scale=0.05, size=8)
    return NeatGenome.from_dict({
        "schema": "neat-genome", "version": 1, "num_inputs": 4, "num_outputs": 2, "feed_forward": True,
        "nodes": {"key": [0, 1], "bias": [0.0, 0.0], "response": [1.0, 1.0], "activation": ["tanh", "tanh"],
                  "aggregation": ["sum", "sum"]},
        "connections": {"innovation": list(range(8)), "source": [-1, -1, -2, -2, -3, -3, -4, -4],
                        "target": [0, 1] * 4, "weight": weights.tolist(), "enabled": [True] * 8},
    })


def test_long_cartpole_episodes_and_the_time_limit_match_the_single_environment():
    genomes = [_pd_controller(gain, seed) for seed, gain in enumerate([0.5, 1.0, 2.0, 4.0, 8.0, 0.2])]
    task = GymTask("CartPole-v1", episodes=4)
    batch = task.evaluate_batch(genomes, list(range(6)))
    assert max(r.fitness for r in batch) == 500.0  # some run into the 500-step limit
    _assert_batch_equals_single(task, genomes, list(range(6)))


@pytest.mark.parametrize("feed_forward", [True, False])
def test_verification_in_lock_step_equals_sequential_episodes(feed_forward):
    genomes = _population(4, 2, feed_forward, size=8, weight_mutate_power=2.0)
    genomes += [_pd_controller(gain, seed) for seed, gain in enumerate([1.0, 4.0])] if feed_forward else []
    task = GymTask("CartPole-v1", episodes=4)
    for seed, genome in enumerate(genomes):
        lockstep = task.verify(genome.phenotype(), np.random.default_rng(seed))
        sequential = task.evaluate(genome.phenotype(), np.random.default_rng(seed))
        assert lockstep.to_dict() == sequential.to_dict()


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31 - 2), rows=st.integers(1, 12), steps=st.integers(1, 60))
def test_cartpole_float_and_array_steps_give_the_same_bits(seed, rows, steps):
    env = gymnasium.make("CartPole-v1").unwrapped
    on_floats, on_arrays = (CartPoleLockstep(env, rows, max_steps=500, scalar_rows=n) for n in (rows, 0))
    seeds = list(range(seed, seed + rows))
    np.testing.assert_array_equal(on_floats.reset(seeds), on_arrays.reset(seeds))
    actions = np.random.default_rng(seed).integers(0, 2, size=(steps, rows))
    active = np.ones(rows, dtype=bool)
    for a in actions:
        got, expected = on_floats.step(a, active), on_arrays.step(a, active)
        for g, e in zip(got, expected):
            np.testing.assert_array_equal(g, e)
        np.testing.assert_array_equal(on_floats.state, on_arrays.state)
