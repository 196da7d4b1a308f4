"""Every champion behind a figure in BENCHMARKS.md (benchmarks/champions/NAME: best.json and its resolved
config.toml) still plays as the run recorded it: the same score, and a Mario champion still clears its level (the
world-mode champion at least two of World 1's levels); an Atari champion replays the first of its recorded test
episodes (test.json, written by benchmarks/games.py) score for score."""

from __future__ import annotations

import json

import pytest

from evolve.play import evaluate_genome
from tests.run_helpers import REPO

CHAMPIONS = sorted(p for p in (REPO / "benchmarks" / "champions").iterdir() if (p / "best.json").is_file())


def test_the_champions_are_there():
    assert {"mario-1-1-seed0", "mario-1-1-seed1", "mario-1-1-seed2", "mario-1-1-seed3", "mario-1-1-seed4",
            "mario-1-4", "mario-world1"} <= {
        p.name for p in CHAMPIONS}


@pytest.mark.parametrize("champion", CHAMPIONS, ids=[p.name for p in CHAMPIONS])
def test_a_champion_scores_what_its_run_recorded(champion):
    if (champion / "test.json").is_file():  # Atari: sticky actions make each episode's score depend on its seed
        test = json.loads((champion / "test.json").read_text())
        report = evaluate_genome(champion / "best.json", 3, test["seed"])
        assert report["scores"] == test["scores"][:3]
        return
    best = json.loads((champion / "best.json").read_text())
    report = evaluate_genome(champion / "best.json", 1, 0)
    assert report["scores"] == [pytest.approx(best["fitness"])]
    if "levels" in report:  # world mode
        assert sum(level["flag"] for level in report["levels"]) >= 2
    elif champion.name.startswith("mario"):
        assert report["flag"] is True and report["solved"] is True
