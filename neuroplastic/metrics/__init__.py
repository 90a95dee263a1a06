"""Measures of trained networks: information (I(Z;Y), I(X;Z), bits per synapse) and biological
signatures (sparsity, Dale conformity, lognormal weights, receptive fields)."""

from neuroplastic.metrics.information import (
    MIN_VIB_SAMPLES,
    InformationReport,
    VIBResult,
    VIBSettings,
    discretise,
    information_report,
    label_information,
    plugin_entropy,
    plugin_mutual_information,
    synaptic_capacity,
    variational_information,
)
from neuroplastic.metrics.signatures import (
    ActivitySparsity,
    DaleConformity,
    DaleGroup,
    Lognormality,
    Signatures,
    WeightSparsity,
    learner_signatures,
)

__all__ = [
    "MIN_VIB_SAMPLES",
    "ActivitySparsity",
    "DaleConformity",
    "DaleGroup",
    "InformationReport",
    "Lognormality",
    "Signatures",
    "VIBResult",
    "VIBSettings",
    "WeightSparsity",
    "discretise",
    "information_report",
    "label_information",
    "learner_signatures",
    "plugin_entropy",
    "plugin_mutual_information",
    "synaptic_capacity",
    "variational_information",
]
