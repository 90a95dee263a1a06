"""Information measures of hidden representations: I(Z;Y), I(X;Z) and bits per synapse."""

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

__all__ = [
    "MIN_VIB_SAMPLES",
    "InformationReport",
    "VIBResult",
    "VIBSettings",
    "discretise",
    "information_report",
    "label_information",
    "plugin_entropy",
    "plugin_mutual_information",
    "synaptic_capacity",
    "variational_information",
]
