"""Opt-in tuning of the host process for a long run; the command line turns it on, a library caller may.

`FreezeHeap` moves everything alive when the run starts (modules, torch, the task's environments) out of the cyclic
garbage collector's reach, so its full passes scan only what the generations allocate (a tenth of a NEAT run's time
went to rescanning the heap), and gives it back when the run ends. The other process settings the engine touches are
restored by whoever changes them: the file writer's GIL switch interval when it closes, the serial executor's torch
thread count after every map.
"""

from __future__ import annotations

import gc

from evolve.callbacks import Callback
from evolve.run_progress import RunProgress
from evolve.strategy import StrategyState


class FreezeHeap(Callback):
    def __init__(self) -> None:
        self._frozen = False

    def on_start(self, state: StrategyState, progress: RunProgress) -> None:
        gc.freeze()
        self._frozen = True

    def close(self) -> None:
        if self._frozen:
            gc.unfreeze()
            self._frozen = False
