"""Evaluation on Ray: the one pool of evaluator actors, serving a run's chunks and a study's trials.

Each actor is a long-lived process that keeps what is expensive to build (environments, emulators, datasets, the
torch device) alive between calls. `map` takes a generation in chunks: a chunk whose actor dies, alone or with its
whole node, goes back to the queue and is evaluated by another actor; the dead actor is replaced. Results come back
in payload order, so a generation evaluated on N workers, with or without failures, is the same as one evaluated
serially. `submit` and `next_event` run one call at a time, for callers that decide what runs next themselves
(Optuna's ask/tell loop in `search.tune_pool`).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import threading
from pathlib import Path
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import ray
from ray.exceptions import (
    NodeDiedError,
    ObjectLostError,
    OwnerDiedError,
    RayActorError,
    WorkerCrashedError,
)

from evolve.executor import EvalFn

log = logging.getLogger(__name__)

# Errors that mean "the process or node running the chunk is gone", not "the evaluation itself failed".
WORKER_LOST = (RayActorError, WorkerCrashedError, NodeDiedError, ObjectLostError, OwnerDiedError)


class EvaluationFailedError(RuntimeError):
    """A chunk kept losing its worker; the run stops rather than loop forever."""


@ray.remote
class Evaluator:
    """One evaluation process. CUDA is visible only when the actor was given GPUs (Ray sets the devices)."""

    def __init__(self, threads: int, gpus: float) -> None:
        # Ray sets OMP_NUM_THREADS to the actor's CPUs, so torch, if a task imports it, runs on the actor's share;
        # torch is imported here only to move batched evaluation onto a GPU the actor was given.
        if gpus > 0:
            import torch

            from genomes.devices import set_default_device

            torch.set_num_threads(threads)
            if torch.cuda.is_available():
                set_default_device("cuda")

    def ready(self) -> tuple[str, int]:
        return ray.get_runtime_context().get_node_id(), os.getpid()

    def evaluate(self, fn: EvalFn, payload: dict[str, Any], seed: int) -> Any:
        return fn(payload, seed)


@dataclass
class _Slot:
    actor: Any
    node: str = ""
    pid: int = 0


class RayExecutor:
    """Maps an evaluation function over payloads on a pool of Ray actors, one chunk in flight per actor."""

    name = "ray"
    in_process = False

    def __init__(
        self,
        workers: int = -1,
        address: str = "",
        num_cpus: float = 1.0,
        num_gpus: float = 0.0,
        max_attempts: int = 4,
    ) -> None:
        self._owns_ray = ensure_ray(address, workers, num_cpus)
        try:
            check_fits_a_node(num_cpus, num_gpus)
        except Exception:
            if self._owns_ray:
                ray.shutdown()
            raise
        available = ray.cluster_resources()
        if workers < 0:  # one evaluator per CPU of the whole cluster
            workers = max(1, int(available.get("CPU", 1) // max(num_cpus, 1e-9)))
        if workers * num_cpus > available.get("CPU", 0.0) + 1e-9:
            log.warning("%d evaluators of %s CPUs exceed the cluster's %s CPUs: only some will start",
                        workers, num_cpus, available.get("CPU", 0.0))
        self.workers = workers
        self.max_attempts = max_attempts
        self.failures: list[dict[str, Any]] = []  # one entry per lost chunk: node, error
        self._options = {"num_cpus": num_cpus, "num_gpus": num_gpus, "max_restarts": 0}
        self._idle: deque[_Slot] = deque()
        self._starting: dict[ray.ObjectRef, _Slot] = {}
        self._running: dict[ray.ObjectRef, tuple[int, _Slot]] = {}  # call -> (ticket, its evaluator)
        self._next_ticket = 0
        for _ in range(workers):
            self._spawn()

    def _spawn(self) -> None:
        cpus, gpus = self._options["num_cpus"], self._options["num_gpus"]
        slot = _Slot(Evaluator.options(**self._options).remote(max(1, int(cpus)), gpus))
        self._starting[slot.actor.ready.remote()] = slot

    def map(self, fn: EvalFn, payloads: Sequence[dict[str, Any]], seeds: Sequence[int],
            done: Callable[[int], None] | None = None) -> list[Any]:
        """`fn` over every payload, results in payload order (`done(index)` as each arrives); a chunk whose worker
        dies is evaluated again."""
        if len(payloads) != len(seeds):
            raise ValueError("payloads and seeds differ in length")
        queue = deque(range(len(payloads)))
        attempts = [0] * len(payloads)
        results: list[Any] = [None] * len(payloads)
        index_of: dict[int, int] = {}  # ticket -> payload index
        finished = 0
        while finished < len(payloads):
            while queue and self._idle:
                index = queue.popleft()
                attempts[index] += 1
                index_of[self.submit(fn, payloads[index], seeds[index])] = index
            try:
                event = self.next_event()
            except Exception:  # the evaluation raised: the pool is made whole, the error goes up
                self._drain()
                raise
            if event is None:
                continue
            ticket, result, lost = event
            index = index_of.pop(ticket)
            if lost is not None:
                if attempts[index] >= self.max_attempts:
                    raise EvaluationFailedError(
                        f"chunk {index} lost its worker {attempts[index]} times; last error: {_first_line(lost)}"
                    ) from lost
                queue.appendleft(index)
                continue
            results[index] = result
            finished += 1
            if done is not None:
                done(index)
        return results

    # -- one call at a time: the interface `map` and the tuning pool share ---------------------------------------
    def has_capacity(self) -> bool:
        """Whether an evaluator is idle or starting (a `submit` now does not wait for a running call)."""
        return bool(self._idle or self._starting)

    def submit(self, fn: EvalFn, payload: dict[str, Any], seed: int) -> int:
        """Start `fn(payload, seed)` on an idle evaluator (waiting for one being started); returns its ticket."""
        while not self._idle:
            if not self._starting:
                raise RuntimeError("no evaluator is idle or starting: wait for a result first")
            ready, _ = ray.wait(list(self._starting), num_returns=1)
            self._started(ready[0])
        slot = self._idle.popleft()
        ticket = self._next_ticket
        self._next_ticket += 1
        self._running[slot.actor.evaluate.remote(fn, payload, seed)] = (ticket, slot)
        return ticket

    def next_event(self) -> tuple[int, Any, Exception | None] | None:
        """Wait for the next call to end: (ticket, result, None), or (ticket, None, error) when its evaluator died
        (it is replaced); None when an evaluator finished starting instead. An exception the call itself raised is
        raised here."""
        ready, _ = ray.wait([*self._running, *self._starting], num_returns=1)
        ref = ready[0]
        if ref in self._starting:
            self._started(ref)
            return None
        ticket, slot = self._running.pop(ref)
        try:
            result = ray.get(ref)
        except WORKER_LOST as exc:
            self._lost(slot, ticket, exc)
            return ticket, None, exc
        except ray.exceptions.RayTaskError as exc:
            self._idle.append(slot)
            raise exc.as_instanceof_cause() from None
        self._idle.append(slot)
        return ticket, result, None

    def running_actors(self) -> list[Any]:
        """The actor handles of the evaluators working on a call right now."""
        return [slot.actor for _, slot in list(self._running.values())]

    def _drain(self) -> None:
        """Wait out the calls still in flight after a failed map, so the pool is whole for the next one."""
        for ref, (_, slot) in list(self._running.items()):
            try:
                ray.get(ref)
                self._idle.append(slot)
            except WORKER_LOST:
                self._spawn()
            except ray.exceptions.RayTaskError:
                self._idle.append(slot)
        self._running.clear()

    def _started(self, ref: ray.ObjectRef) -> None:
        slot = self._starting.pop(ref)
        try:
            slot.node, slot.pid = ray.get(ref)
        except WORKER_LOST as exc:
            log.warning("an evaluator failed to start (%s); starting another", _first_line(exc))
            self._spawn()
            return
        self._idle.append(slot)

    def _lost(self, slot: _Slot, ticket: int, exc: Exception) -> None:
        log.warning("evaluator on node %s died during call %d (%s); it is replaced and the call runs again",
                    slot.node[:12] or "?", ticket, _first_line(exc))
        self.failures.append({"node": slot.node, "call": ticket, "error": type(exc).__name__})
        self._spawn()

    def wait_ready(self, timeout: float | None = None) -> int:
        """Wait until every evaluator being started is up (or `timeout` seconds pass); returns how many are idle."""
        pending = list(self._starting)
        if pending:
            ready, _ = ray.wait(pending, num_returns=len(pending), timeout=timeout)
            for ref in ready:
                self._started(ref)
        return len(self._idle)

    def busy_workers(self) -> list[tuple[str, int]]:
        """(node id, process id) of each evaluator that is working on a call right now."""
        return [(slot.node, slot.pid) for _, slot in list(self._running.values())]

    def close(self) -> None:
        for slot in [*self._idle, *self._starting.values(), *(s for _, s in self._running.values())]:
            ray.kill(slot.actor)
        self._idle.clear()
        self._starting.clear()
        self._running.clear()
        if self._owns_ray:
            ray.shutdown()


def check_fits_a_node(num_cpus: float, num_gpus: float) -> None:
    """An evaluator asking for more CPUs or GPUs than any node of the cluster has would wait forever: a ConfigError
    instead, naming the largest node. (An autoscaling cluster that adds bigger nodes later is not foreseen.)"""
    from evolve.config import ConfigError

    nodes = [node.get("Resources", {}) for node in ray.nodes() if node.get("Alive")]
    for key, asked, name in (("CPU", num_cpus, "ray.num_cpus"), ("GPU", num_gpus, "ray.num_gpus")):
        largest = max((resources.get(key, 0.0) for resources in nodes), default=0.0)
        if asked > largest + 1e-9:
            where = "this machine's Ray" if len(nodes) == 1 else f"the largest of the cluster's {len(nodes)} nodes"
            raise ConfigError(f"{name} = {asked:g} per evaluator, but {where} has {largest:g} {key}s: no evaluator "
                              "could ever start")


def ensure_ray(address: str, workers: int, num_cpus: float) -> bool:
    """Connect to Ray unless already connected; returns whether this call started the connection (and so should
    shut it down). Joins the cluster at `address`, or starts an embedded one sized for the requested actors."""
    if ray.is_initialized():
        return False
    main = threading.current_thread() is threading.main_thread()
    handler = signal.getsignal(signal.SIGTERM) if main else None
    _init_ray(address, workers, num_cpus)
    if callable(handler):  # Ray replaced it (its Python handler exits without the run's goodbye; see below)
        signal.signal(signal.SIGTERM, handler)
    return True


def reclaim_sigterm() -> None:
    """Give SIGTERM back to the Python handler of this process, where it has one (the CLI's: stop the run as
    Ctrl-C does). Ray's core worker installs a C handler that prints a stack dump and ends the process; this undoes
    it from the main thread, where Ray was started or, when it was started in the background, once the run first
    uses it. Without a Python handler, Ray's handling stays."""
    if threading.current_thread() is threading.main_thread():
        handler = signal.getsignal(signal.SIGTERM)
        if callable(handler):
            signal.signal(signal.SIGTERM, handler)


TOKEN_LOGGER = "ray._private.authentication.authentication_token_setup"


def _init_ray(address: str, workers: int, num_cpus: float) -> None:
    options: dict[str, Any] = {"include_dashboard": False, "logging_level": "WARNING", "log_to_driver": True}
    if address:
        from evolve.config import ConfigError

        _check_reachable(address)
        try:
            ray.init(address=address, **options)
        except (ConnectionError, ValueError, RuntimeError, ray.exceptions.AuthenticationError) as exc:
            raise ConfigError(f"cannot join the Ray cluster at {address}: {_first_line(exc)}") from None
        return
    cpus = os.cpu_count() or 1
    if workers > 0:
        cpus = max(cpus, int(-(-workers * num_cpus // 1)))  # room for every requested evaluator
    runtime_env = {"env_vars": {"PYTHONPATH": driver_path()}}
    with _quiet_token_notice():
        existing = machine_cluster()
        if existing:  # join it as it is, with this machine's token when there is one (as a local start would)
            from ray._private.authentication.authentication_token_setup import (
                maybe_enable_token_auth_if_token_available,
            )

            maybe_enable_token_auth_if_token_available(warn_if_disabled=False)
            log.info("joining the Ray cluster at %s", existing)
            ray.init(address=existing, runtime_env=runtime_env, **options)
        else:  # "local": a Ray of our own, never another run's embedded one
            with _loopback_only():
                ray.init(address="local", num_cpus=cpus, runtime_env=runtime_env, _node_ip_address=LOOPBACK,
                         **options)
    keep_token_private()


def machine_cluster() -> str | None:
    """The cluster a run without an address joins: the one RAY_ADDRESS names, else the one `ray start` last started
    on this machine (the address it leaves in Ray's temp folder) while its GCS answers. Other Ray instances, such as
    another run's embedded Ray, are not candidates (Ray's own search for them warns and may pick one)."""
    named = os.environ.get("RAY_ADDRESS", "")
    if named:
        return named
    from ray._private.utils import read_ray_address

    started = read_ray_address()
    return started if started and _connect_error(started, timeout=1.0) is None else None  # stale: that one is gone


LOOPBACK = "127.0.0.1"


@contextmanager
def _loopback_only() -> Iterator[None]:
    """An embedded Ray serves this machine alone: its GCS, raylet and workers listen on loopback only. Ray turns a
    loopback node address into the machine's outward address unless clusters are off for the platform (its switch
    for macOS and Windows, read when the node starts); it is off while the embedded node starts."""
    from ray._private import ray_constants

    before = ray_constants.ENABLE_RAY_CLUSTER
    ray_constants.ENABLE_RAY_CLUSTER = False
    try:
        yield
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = before


def keep_token_private(path: Path = Path.home() / ".ray" / "auth_token") -> None:
    """Ray writes its cluster token readable by every user of the machine (0644); only its owner needs it."""
    try:
        if path.is_file() and path.stat().st_uid == os.getuid() and path.stat().st_mode & 0o077:
            path.chmod(0o600)
    except OSError as exc:  # a token on a read-only or foreign file system stays as it is
        log.warning("cannot make %s private: %s", path, exc)


class _DropThreadNotice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "current thread is not the main thread" not in record.getMessage()


@contextmanager
def quiet_thread_notice() -> Iterator[None]:
    """Ray started from a thread other than the main one notes that it leaves SIGTERM's handler alone (the main
    thread's handler stays, and Ray's processes still end with the driver): expected, not a warning to a user."""
    notice, drop = logging.getLogger("ray._private.worker"), _DropThreadNotice()
    notice.addFilter(drop)
    try:
        yield
    finally:
        notice.removeFilter(drop)


@contextmanager
def _quiet_token_notice() -> Iterator[None]:
    """Ray announces on every start that it enabled token authentication by default (it stays enabled: the
    embedded cluster runs with a token); that notice is not a warning to a user who changed nothing."""
    notice = logging.getLogger(TOKEN_LOGGER)
    level = notice.level
    notice.setLevel(logging.ERROR)
    try:
        yield
    finally:
        notice.setLevel(level)


def driver_path() -> str:
    """The driver's own import path entries (its script's folder, the working directory, PYTHONPATH), as a
    PYTHONPATH for the embedded Ray's workers: a task or fitness function in a module beside the user's script
    imports there as it does here. Entries of this interpreter's installation are the workers' already."""
    installed = {sys.prefix, sys.base_prefix, sys.exec_prefix}
    entries = [os.path.abspath(p or os.curdir) for p in sys.path]
    own = [p for p in entries if os.path.isdir(p) and not any(p.startswith(prefix) for prefix in installed)]
    return os.pathsep.join(dict.fromkeys(own))


def _check_reachable(address: str, timeout: float = 5.0) -> None:
    """Fail fast on a host:port nobody listens on (Ray itself retries for minutes); "auto" and URLs pass."""
    from evolve.config import ConfigError

    if (error := _connect_error(address, timeout)) is not None:
        raise ConfigError(f"cannot join the Ray cluster at {address}: {error.strerror or error}")


def _connect_error(address: str, timeout: float) -> OSError | None:
    """Why nothing answers at a host:port address, or None when something does (or it is no host:port)."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or "://" in address:
        return None
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as exc:
        return exc
    return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
