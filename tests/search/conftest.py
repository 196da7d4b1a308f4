"""The study storages every tuning test runs against: SQLite always, PostgreSQL when EVOLVE_TEST_POSTGRES_URL names
a server (.ci/run starts one)."""

from __future__ import annotations

import os

import pytest

STORAGES = ["sqlite"] + (["postgres"] if os.environ.get("EVOLVE_TEST_POSTGRES_URL") else [])


@pytest.fixture(params=STORAGES)
def storage(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'study.db'}"
    return os.environ["EVOLVE_TEST_POSTGRES_URL"]
