"""The genome kind registry: everything the engine needs to know about a kind of genome, in one entry.

A kind names its genome class (and the `schema` its JSON documents carry), the dataclass of its config section
(`[neat]`, `[cnn]`, `[rnn]`: the section is named after the kind), the family a strategy breeds it with
(`genomes.families`), and how a task fixes its shape (inputs and outputs). Classes are named "module:Class" and
imported on first use, so a run of NEAT graphs never imports the cell kinds (nor torch). A new kind is one file
with its genome, config and family, plus one entry here.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class GenomeKind:
    name: str
    schema: str
    genome: str  # "module:Class" of the genome
    config: str  # "module:Class" of its config section
    family: str  # "module:factory" of its family; called with the config section
    shape: Callable[[Any], dict[str, Any]]  # task -> the config keys the task fixes
    doc: str = ""

    def genome_class(self) -> type:
        return _load(self.genome)

    def config_class(self) -> type:
        return _load(self.config)

    def make_family(self, config: Any) -> Any:
        return _load(self.family)(config)


def _load(entry: str) -> Any:
    module, _, name = entry.partition(":")
    return getattr(importlib.import_module(module), name)


def _neat_shape(task: Any) -> dict[str, Any]:
    return {"num_inputs": task.num_inputs, "num_outputs": task.num_outputs}


def _cnn_shape(task: Any) -> dict[str, Any]:
    return {"input_shape": list(task.input_shape), "num_outputs": task.num_outputs}


def _rnn_shape(task: Any) -> dict[str, Any]:
    return {"input_size": task.input_shape[-1], "num_outputs": task.num_outputs}


KINDS: dict[str, GenomeKind] = {
    "neat": GenomeKind("neat", "neat-genome", "genomes.neat_genome:NeatGenome", "genomes.neat_config:NeatGenomeConfig",
                       "genomes.families:neat_family", _neat_shape, "NEAT graphs"),
    "cnn": GenomeKind("cnn", "cnn-cell-genome", "genomes.cnn_cell:CnnCellGenome", "genomes.cnn_cell:CnnCellConfig",
                      "genomes.families:cnn_family", _cnn_shape, "CNN cells"),
    "rnn": GenomeKind("rnn", "rnn-cell-genome", "genomes.rnn_cell:RnnCellGenome", "genomes.rnn_cell:RnnCellConfig",
                      "genomes.families:rnn_family", _rnn_shape, "recurrent cells"),
}
SCHEMAS: dict[str, GenomeKind] = {kind.schema: kind for kind in KINDS.values()}
