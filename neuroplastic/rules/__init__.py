"""Learning rules: parameter models and pure functions that propose weight changes."""

from neuroplastic.rules.bcm import BCMParams, bcm_delta, bcm_threshold
from neuroplastic.rules.delta import DeltaRuleParams, delta_rule
from neuroplastic.rules.hebb import HebbParams, hebb_delta
from neuroplastic.rules.krotov import KrotovParams, krotov_delta
from neuroplastic.rules.oja import OjaParams, oja_delta
from neuroplastic.rules.optimizers import (
    AdamParams,
    Optimizer,
    SGDParams,
    adam_direction,
    sgd_direction,
)
from neuroplastic.rules.softhebb import SoftHebbParams, softhebb_delta
from neuroplastic.rules.stdp import STDPParams, stdp_delta, stdp_event_sums, stdp_trace_sums

__all__ = [
    "AdamParams",
    "BCMParams",
    "DeltaRuleParams",
    "HebbParams",
    "KrotovParams",
    "OjaParams",
    "Optimizer",
    "SGDParams",
    "STDPParams",
    "SoftHebbParams",
    "adam_direction",
    "bcm_delta",
    "bcm_threshold",
    "delta_rule",
    "hebb_delta",
    "krotov_delta",
    "oja_delta",
    "sgd_direction",
    "softhebb_delta",
    "stdp_delta",
    "stdp_event_sums",
    "stdp_trace_sums",
]
