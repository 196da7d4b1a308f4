"""Record an evolved Mario champion's run to its level's flagpole, the recording the next level's save state is
derived from (envs/mario_level_states.py: Level1-3 from a 1-2 champion).

    python benchmarks/mario_flag_run.py benchmarks/champions/mario-1-2 [--derive]

Writes envs/mario_states/mario_<level>_flag.json; with --derive also (re)writes every derivable state, as
`python -m envs.mario_level_states` does.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from envs import mario_level_states  # noqa: E402
from evolve.play import genome_and_task  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("champion", type=Path, help="a run directory or genome file of a Mario level run")
    parser.add_argument("--derive", action="store_true", help="then derive the states from the recordings")
    args = parser.parse_args()
    path = args.champion / "best.json" if args.champion.is_dir() else args.champion
    genome, task, _ = genome_and_task(path, None, [])
    if getattr(task, "levels", None):
        raise SystemExit("a world-mode genome plays several levels: record a single level's champion")
    recorded = mario_level_states.record_flag_run(task, genome.phenotype())
    out = mario_level_states.STATES_DIR / f"mario_{task.state.removeprefix('Level')}_flag.json"
    out.write_text(json.dumps(recorded, indent=1) + "\n")
    print(f"wrote {out} ({len(recorded['steps'])} steps to the flag)")
    if args.derive:
        mario_level_states.main()


if __name__ == "__main__":
    main()
