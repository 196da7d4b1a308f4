"""Loader property: any JSON document either loads as a valid genome or is refused with GenomeError — never another
exception, never a genome that breaks its invariants."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from genomes.base import GenomeError
from genomes.neat_genome import NeatGenome
from tests.neat_helpers import busy_config, grow

BASE = grow(busy_config(), seed=11, steps=15).to_dict()
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**12), 10**12) | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=8,
)
PATHS = [
    ("num_inputs",), ("num_outputs",), ("feed_forward",), ("version",), ("schema",), ("nodes",), ("connections",),
    *[("nodes", k) for k in ("key", "bias", "response", "activation", "aggregation")],
    *[("connections", k) for k in ("innovation", "source", "target", "weight", "enabled")],
]


@settings(max_examples=400, deadline=None)
@given(edits=st.lists(st.tuples(st.sampled_from(PATHS), JSON_VALUES, st.integers(0, 30)), min_size=1, max_size=3))
def test_corrupted_documents_load_or_fail_cleanly(edits):
    document = json.loads(json.dumps(BASE))
    for path, value, position in edits:
        target = document
        for key in path[:-1]:
            target = target[key] if isinstance(target, dict) else {}
        if not isinstance(target, dict):
            continue
        column = target.get(path[-1])
        if isinstance(column, list) and column and position < len(column) and not isinstance(value, (list, dict)):
            column[position] = value  # corrupt one cell of a gene column
        else:
            target[path[-1]] = value  # replace the whole field
    try:
        genome = NeatGenome.from_dict(document)
    except GenomeError:
        return
    genome.validate()
    assert NeatGenome.from_dict(genome.to_dict()).to_dict() == genome.to_dict()
