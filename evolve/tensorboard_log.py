"""TensorBoard logging as a Runner callback (`[log] tensorboard = true`): per generation, scalars of fitness,
species and genome size, and histograms of the generation's fitness and species sizes, under RUN/tensorboard.

Written with torch's SummaryWriter, which needs the `tensorboard` package; imported only when the option is on. A
resumed run purges the events past its checkpoint, so the curves never show a generation twice.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from evolve.callbacks import SCALARS, Callback, GenerationRecord
from evolve.config import ConfigError
from evolve.run_progress import RunProgress
from evolve.strategy import StrategyState

class TensorBoardLog(Callback):
    """Writes a run's figures as TensorBoard events under `path` (RUN/tensorboard)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.writer: Any = None

    def on_start(self, state: StrategyState, progress: RunProgress) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as exc:
            raise ConfigError(f"log.tensorboard needs the tensorboard package: pip install tensorboard ({exc})") from None
        self.writer = SummaryWriter(str(self.path), purge_step=state.generation or None)

    def on_generation(self, record: GenerationRecord) -> None:
        step, metrics = record.generation, record.metrics
        for key, tag in SCALARS.items():
            if isinstance(metrics.get(key), (int, float)):
                self.writer.add_scalar(tag, metrics[key], step)
        best = record.state.best
        if best is not None:
            self.writer.add_scalar("fitness/best_so_far", best["fitness"], step)
        self.writer.add_histogram("fitness/generation", np.array([r["fitness"] for r in record.results]), step)
        if metrics.get("species"):
            self.writer.add_histogram("species/sizes", np.array([s[1] for s in metrics["species"]]), step)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
