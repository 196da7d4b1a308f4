"""Config validation: every bad input is one clear ConfigError."""

from __future__ import annotations

from pathlib import Path

import pytest

from evolve.config import ConfigError, load_config, parse_config

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "override, message",
    [
        ("population.size=-3", "population.size must be >= 2, got -3"),
        ("population.size=2.5", "population.size must be an int"),
        ("population.colour=3", "unknown key population.colour"),
        ("neat.activation_default=warp", "neat.activation_default must be one of"),
        ("neat.activation_options=['tanh', 'warp']", "unknown value 'warp'"),
        ("neat.weight_mutate_rate=1.5", "neat.weight_mutate_rate must be <= 1.0"),
        ("neat.feed_forward=1", "neat.feed_forward must be a bool"),
        ("run.seed=-1", "run.seed must be >= 0"),
        ("env.id=NoSuchEnv-v9", "unknown env id 'NoSuchEnv-v9'"),
        ("env.margin=2.0", "env.margin must be <= 0.5"),
        ("env.episodes=2", "unknown key env.episodes"),
        ("neat.num_inputs=7", "does not match env 'xor'"),
        ("bogus.key=1", "unknown config section [bogus]"),
        ("novalue", "--set expects section.key=value"),
        ("species.compatibility_threshold=inf", "species.compatibility_threshold must be a finite number"),
        ("run.seed=18446744073709551616", "run.seed must fit in 64 bits"),
        ("neat.bias_min=nan", "neat.bias_min must be a finite number"),
        ("ray.num_cpus=inf", "ray.num_cpus must be a finite number"),
        ("population.size=1000000000000", "population.size must be <= 100000"),
        ("islands.count=1000000", "islands.count must be <= 1000"),
        ("reproduction.elitism=151", "reproduction.elitism must not exceed population.size"),
        ("neat.activation_default='relu'", "neat.activation_default 'relu' is not among neat.activation_options"),
        ("neat.activation_options=[]", "neat.activation_options must name at least one activation"),
        ("neat.weight_max=inf", "neat.weight_max must be a finite number"),
        ("neat.weight_mutate_power=inf", "neat.weight_mutate_power must be a finite number"),
    ],
)
def test_bad_overrides_raise_one_line_errors(override, message):
    with pytest.raises(ConfigError) as info:
        load_config(REPO / "configs" / "xor.toml", [override])
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_file_and_bad_toml(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[run\nseed = 1")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_config(bad)


def test_overrides_apply_and_gymnasium_ids_work():
    config = load_config(REPO / "configs" / "xor.toml", ["population.size=50", "run.seed=9"])
    assert config.population.size == 50 and config.run.seed == 9
    config = parse_config({"env": {"id": "CartPole-v1", "episodes": 2}})
    assert config.neat.num_inputs == 4 and config.neat.num_outputs == 2
    assert config.env.kwargs["episodes"] == 2
    assert config.env.kwargs["max_steps"] == 0, "the resolved env section states every parameter, defaults too"
