"""The module-level evaluation functions shipped to executors, and how a generation is cut into chunks.

A chunk payload is {"task": task source, "genomes": [genome documents], "seeds": [ints], "first": the index of the
chunk's first genome in the generation, "total": the generation's size}; the last two only label progress messages.
The task source is either a spec {"id": env id, "kwargs": {...}}, which every process resolves through
`envs.registry` (so a task named "package.module:Name" is imported there), or a Task instance, which travels to Ray
workers through Ray's own serialization (code in transit, never a file a user saves). Tasks are built once per
process and reused, so expensive environments stay alive between chunks. An in-process executor may pass the run's
genome objects in place of their documents (they are immutable), which saves a JSON round trip per genome.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np

from envs.progress import progress_scope
from envs.registry import make
from envs.task import EvalResult, Task
from evolve.executor import Executor
from genomes.families import load_document

TaskSource = dict[str, Any] | Task


@lru_cache(maxsize=8)
def _task(spec_json: str) -> Task:
    spec = json.loads(spec_json)
    return make(spec["id"], **spec["kwargs"])


def task_for(source: TaskSource) -> Task:
    """The task a source names: a spec resolved (once per process) or the instance itself."""
    if isinstance(source, dict):
        return _task(json.dumps(source, sort_keys=True))
    return source


def evaluate_chunk(payload: dict[str, Any], seed: int) -> list[dict[str, Any]]:
    """Evaluate a chunk {"task": source, "genomes": [documents], "seeds": [ints]}; one result dict per genome.
    `seed` (the chunk's) is unused: every genome carries its own."""
    task = task_for(payload["task"])
    genomes = [_genome(doc) for doc in payload["genomes"]]
    first, total = payload.get("first", 0), payload.get("total", len(genomes))
    label = f"genome {first + 1}/{total}" if len(genomes) == 1 else f"genomes {first + 1}-{first + len(genomes)}/{total}"
    with progress_scope(label):
        results = task.evaluate_batch(genomes, payload["seeds"])
    for result in results:
        if not math.isfinite(result.fitness):
            raise ValueError(f"task {task_name(payload['task'])!r} returned a non-finite fitness {result.fitness}")
    return [r.to_dict() for r in results]


def verify_genome(payload: dict[str, Any], seed: int) -> EvalResult:
    task = task_for(payload["task"])
    network = _genome(payload["genome"]).phenotype()
    return task.verify(network, np.random.default_rng(seed))


def evaluate_population(
    executor: Executor, source: TaskSource, documents: list[Any], seeds: list[int], size: int,
    evaluated: Callable[[int], None] | None = None,
) -> list[dict[str, Any]]:
    """Evaluate a population in chunks of `size` genomes. The chunks are the same whatever the executor, so batched
    evaluation sees the same inputs (and gives bit-identical results) serially and on any number of workers.
    `evaluated(count)` hears how many genomes have results so far, as each chunk's arrive."""
    payloads = [
        {"task": source, "genomes": documents[i : i + size], "seeds": seeds[i : i + size], "first": i,
         "total": len(documents)}
        for i in range(0, len(documents), size)
    ]
    starts = [p["seeds"][0] for p in payloads]
    if evaluated is None or not _reports_progress(executor):
        chunks = executor.map(evaluate_chunk, payloads, starts)
    else:
        count = 0

        def done(index: int) -> None:
            nonlocal count
            count += len(payloads[index]["genomes"])
            evaluated(count)

        chunks = executor.map(evaluate_chunk, payloads, starts, done)
    return [result for chunk in chunks for result in chunk]


def _reports_progress(executor: Executor) -> bool:
    """Whether the executor's `map` takes `done` (a user's executor written before it existed may not)."""
    return _map_takes_done(type(executor))


@lru_cache(maxsize=None)
def _map_takes_done(cls: type) -> bool:
    import inspect

    try:
        return "done" in inspect.signature(cls.map).parameters
    except (TypeError, ValueError, AttributeError):
        return False


def remote_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """A chunk as it travels to another process: genome objects an in-process executor was given become their
    documents."""
    genomes = [g if isinstance(g, dict) else g.shared_dict() for g in payload["genomes"]]
    return {**payload, "genomes": genomes}


def task_name(source: TaskSource) -> str:
    return source["id"] if isinstance(source, dict) else type(source).__name__


def _genome(document: Any) -> Any:
    """A payload's genome: its document loaded (the run's own, so trusted), or the genome object itself."""
    return load_document(document, validate=False) if isinstance(document, dict) else document
