"""Networks assembled from Synapses."""

from neuroplastic.models.layers import DenseLayer
from neuroplastic.models.mlp import MLP

__all__ = ["MLP", "DenseLayer"]
