"""Progress from inside a task's long work (training epochs, candidates, baselines), heard by whoever runs it.

A task calls `report_progress("epoch 3/20: validation 0.91")` and names what it is doing with
`progress_scope("candidate 2/12")`; the runner listens with `progress_to(sink)` around evaluation and the final
report, and passes each message on to its callbacks (the bar, the plain lines). With no listener, reporting costs a
context-variable read. The listener is a context variable, so it reaches code running in the runner's own thread
(the serial executor, the final report) and never code in other processes: a Ray worker's progress arrives as its
chunk's results do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

ProgressSink = Callable[[str, bool], None]  # (message, milestone): milestones are always shown, the rest throttled

_sink: ContextVar[ProgressSink | None] = ContextVar("evolve_progress_sink", default=None)
_scope: ContextVar[tuple[str, ...]] = ContextVar("evolve_progress_scope", default=())


def report_progress(message: str, milestone: bool = False) -> None:
    """Tell the listener, if any, `message` under the current scope ("candidate 2/12: epoch 3/20 ...");
    `milestone`: the start of a phase, shown even where routine messages are throttled."""
    sink = _sink.get()
    if sink is not None:
        sink(": ".join((*_scope.get(), message)), milestone)


def listening() -> bool:
    """Whether anyone hears progress (skip composing messages when not)."""
    return _sink.get() is not None


@contextmanager
def progress_scope(label: str) -> Iterator[None]:
    """Messages reported inside are prefixed with `label` (scopes nest)."""
    token = _scope.set((*_scope.get(), label))
    try:
        yield
    finally:
        _scope.reset(token)


@contextmanager
def progress_to(sink: ProgressSink) -> Iterator[None]:
    """Send the progress reported inside to `sink`."""
    token = _sink.set(sink)
    try:
        yield
    finally:
        _sink.reset(token)
