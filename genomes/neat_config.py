"""Parameters of the NEAT genome: its shape, initial structure and mutation rates.

Defaults follow Stanley & Miikkulainen (2002) where the paper states a value, and neat-python otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

from genomes.activations import ACTIVATIONS, AGGREGATIONS
from genomes.params import param


@dataclass
class NeatGenomeConfig:
    num_inputs: int = param(2, ge=1, doc="set by the task; override only for custom tasks")
    num_outputs: int = param(1, ge=1, doc="set by the task; override only for custom tasks")
    num_hidden: int = param(0, ge=0, le=10_000, doc="hidden nodes in the initial genomes")
    feed_forward: bool = param(True, doc="enforce acyclic networks on every mutation")
    initial_connection: str = param("full", choices=("full", "none", "partial"))
    initial_connection_fraction: float = param(0.5, ge=0.0, le=1.0, doc="for initial_connection = 'partial'")

    activation_default: str = param("steep_sigmoid", choices=ACTIVATIONS)
    activation_options: list[str] = param(["steep_sigmoid"], each_in=ACTIVATIONS)
    activation_mutate_rate: float = param(0.0, ge=0.0, le=1.0)
    aggregation_default: str = param("sum", choices=AGGREGATIONS)
    aggregation_options: list[str] = param(["sum"], each_in=AGGREGATIONS)
    aggregation_mutate_rate: float = param(0.0, ge=0.0, le=1.0)

    weight_init_mean: float = param(0.0)
    weight_init_stdev: float = param(1.0, ge=0.0)
    weight_mutate_rate: float = param(0.8, ge=0.0, le=1.0, doc="chance per connection of a weight mutation")
    weight_replace_rate: float = param(0.1, ge=0.0, le=1.0, doc="share of weight mutations that draw anew")
    weight_mutate_power: float = param(0.5, ge=0.0, doc="stdev of a weight perturbation")
    weight_min: float = param(-30.0)
    weight_max: float = param(30.0)

    bias_init_mean: float = param(0.0)
    bias_init_stdev: float = param(1.0, ge=0.0)
    bias_mutate_rate: float = param(0.7, ge=0.0, le=1.0)
    bias_replace_rate: float = param(0.1, ge=0.0, le=1.0)
    bias_mutate_power: float = param(0.5, ge=0.0)
    bias_min: float = param(-30.0)
    bias_max: float = param(30.0)

    response_init_mean: float = param(1.0)
    response_init_stdev: float = param(0.0, ge=0.0)
    response_mutate_rate: float = param(0.0, ge=0.0, le=1.0)
    response_replace_rate: float = param(0.0, ge=0.0, le=1.0)
    response_mutate_power: float = param(0.0, ge=0.0)
    response_min: float = param(-30.0)
    response_max: float = param(30.0)

    conn_add_prob: float = param(0.05, ge=0.0, le=1.0)
    node_add_prob: float = param(0.03, ge=0.0, le=1.0)
    conn_delete_prob: float = param(0.0, ge=0.0, le=1.0)
    node_delete_prob: float = param(0.0, ge=0.0, le=1.0)
    single_structural_mutation: bool = param(False, doc="at most one structural mutation per offspring")
    attributes_after_structural: bool = param(
        False, doc="also mutate weights/biases of an offspring that got a structural mutation (NEAT: no)"
    )
    enabled_mutate_rate: float = param(0.01, ge=0.0, le=1.0, doc="chance per connection of flipping enabled")
    disable_inherited_rate: float = param(0.75, ge=0.0, le=1.0, doc="chance a gene disabled in a parent stays so")
    add_connection_attempts: int = param(20, ge=1, le=1_000)

    compatibility_excess: float = param(1.0, ge=0.0, doc="c1")
    compatibility_disjoint: float = param(1.0, ge=0.0, doc="c2")
    compatibility_weight: float = param(0.4, ge=0.0, doc="c3")
    compatibility_normalize_min: int = param(
        20, ge=1, doc="N = 1 while both genomes have fewer genes than this, then one more per gene"
    )

    def initial_genes(self) -> int:
        """Nodes and candidate connections of an initial genome (before partial wiring): what a population costs."""
        ends = self.num_inputs * self.num_hidden + self.num_hidden * self.num_outputs if self.num_hidden else (
            self.num_inputs * self.num_outputs)
        return self.num_outputs + self.num_hidden + (0 if self.initial_connection == "none" else ends)
