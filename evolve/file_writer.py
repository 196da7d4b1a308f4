"""A run's per-generation files written on a background thread, so their fsyncs overlap the next generation.

Callers encode each document themselves (bytes are immutable, so the thread never sees state the loop goes on
changing) and submit it; the thread writes the files atomically in submission order. A crash can lose only
writes still queued, and since each file is replaced atomically, the run directory always holds complete files:
at worst the previous generation's checkpoint, from which a resumed run reproduces the lost generation exactly.

While a writer is open the interpreter's GIL switch interval is lowered to half a millisecond. Every system call
of a write (open, write, fsync, rename, unlink) releases the GIL, and getting it back from a CPU-bound run loop
takes a whole switch interval (5 ms by default): a dozen calls per checkpoint made the writer fall behind a fast
run, which then waited for the backlog at the end (a third of a short XOR run's wall time).
"""

from __future__ import annotations

import logging
import queue
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from genomes.atomic_io import write_bytes_atomic

log = logging.getLogger(__name__)

SWITCH_INTERVAL = 0.0005  # seconds: the GIL switch interval while a writer is open


class FileWriter:
    """A FIFO of file writes served by one daemon thread. `close()` (or leaving the `with` block) waits for them
    and raises the first write error; a failed write also fails the next `write` call."""

    def __init__(self) -> None:
        self._jobs: queue.Queue[tuple[Path, bytes, Callable[[], None] | None] | None] = queue.Queue()
        self._error: BaseException | None = None
        self._switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(min(self._switch_interval, SWITCH_INTERVAL))
        self._thread = threading.Thread(target=self._serve, name="evolve-file-writer", daemon=True)
        self._thread.start()

    def write(self, path: Path, data: bytes, then: Callable[[], None] | None = None) -> None:
        """Queue an atomic write of `data` to `path`; `then` runs on the writer thread once the file is in place."""
        self._raise_if_failed()
        self._jobs.put((Path(path), data, then))

    def close(self) -> None:
        """Wait for every queued write, stop the thread, and raise the first error a write met."""
        if self._thread.is_alive():
            self._jobs.put(None)
            self._thread.join()
            sys.setswitchinterval(self._switch_interval)
        self._raise_if_failed()

    def __enter__(self) -> FileWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        if error is None:
            self.close()
            return
        try:  # the loop failed: still finish the writes, but let the loop's error be the one raised
            self.close()
        except Exception as write_error:  # noqa: BLE001
            log.error("a run file could not be written either: %s", write_error)

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error

    def _serve(self) -> None:
        while (job := self._jobs.get()) is not None:
            if self._error is None:
                path, data, then = job
                try:
                    write_bytes_atomic(path, data)
                    if then is not None:
                        then()
                except BaseException as error:  # noqa: BLE001 - handed to the submitting thread
                    self._error = error
