"""What a run has counted besides the strategy state: evaluations, wall time, the solve record. Checkpoints carry it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evolve.checkpoint import CheckpointError


@dataclass
class RunProgress:
    evaluations: int = 0
    wall_seconds: float = 0.0
    solved: bool = False
    solved_generation: int | None = None
    evaluations_to_solve: int | None = None
    verify_metrics: dict[str, Any] = field(default_factory=dict)
    solution: dict[str, Any] = field(default_factory=dict)  # size of the verified solution network
    champion_metrics: dict[str, Any] = field(default_factory=dict)
    records: dict[str, float] = field(default_factory=dict)  # the run's figure for each of the task's run metrics
    verified: list[str] = field(default_factory=list)  # content digests of the genomes verify has already judged

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_checkpoint(cls, data: dict[str, Any], where: Path | str) -> RunProgress:
        """The run progress a loaded checkpoint holds; a damaged one raises CheckpointError."""
        try:
            return cls(**data["run"])
        except (KeyError, TypeError) as exc:
            raise CheckpointError(f"{where}: cannot resume from this checkpoint: bad run progress ({exc})") from None
