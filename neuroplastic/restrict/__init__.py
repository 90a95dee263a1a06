"""Restricted plasticity and synaptic caching: filters on what the door writes.

- :mod:`neuroplastic.restrict.policies`: which entries of a proposed update are written
  (largest updates, balanced, per-neuron, path, path + top-p, and the controls);
- :mod:`neuroplastic.restrict.topk`: top-k selection, including from the factors of an outer
  product (batch size 1) without forming the matrix;
- :mod:`neuroplastic.restrict.caching`: transient + persistent weights with maintenance and
  consolidation energy (Li & van Rossum 2020).
"""

from neuroplastic.restrict.caching import CacheParams, SynapticCache, attach_cache
from neuroplastic.restrict.policies import (
    POLICIES,
    GroupFilter,
    RestrictParams,
    attach_restriction,
    build_filters,
    describe,
)
from neuroplastic.restrict.topk import count_k, dense_topk_mask, outer_topk, select_outer_topk

__all__ = [
    "POLICIES",
    "CacheParams",
    "GroupFilter",
    "RestrictParams",
    "SynapticCache",
    "attach_cache",
    "attach_restriction",
    "build_filters",
    "count_k",
    "dense_topk_mask",
    "describe",
    "outer_topk",
    "select_outer_topk",
]
