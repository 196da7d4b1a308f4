"""Every shipped config loads: run configs through the run-config parser, tune configs through the tune parser
(which also applies each sampled key to its base config)."""

from __future__ import annotations

import pytest

from evolve.config import load_config
from search.tune_config import load_tune_config
from tests.run_helpers import REPO

CONFIGS = sorted((REPO / "configs").glob("*.toml"))


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_shipped_config_loads(path):
    if path.stem.startswith("tune-"):
        config = load_tune_config(path)
        assert config.space and config.base_path.is_file()
    else:
        config = load_config(path)
        assert config.population.size >= 2 and config.run.generations >= 1
