"""Restricted plasticity and synaptic caching: filters on what the door writes.

- :mod:`neuroplastic.restrict.policies`: which entries of a proposed update are written
  (largest updates, balanced, per-neuron, path, path + top-p, and the controls);
- :mod:`neuroplastic.restrict.topk`: top-k selection, including from the factors of an outer
  product (batch size 1) without forming the matrix;
- :mod:`neuroplastic.restrict.caching`: transient + persistent weights with maintenance and
  consolidation energy (Li & van Rossum 2020);
- :mod:`neuroplastic.restrict.params`: their parameter models (no torch needed).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from neuroplastic.restrict.params import POLICIES, CacheParams, RestrictParams

if TYPE_CHECKING:
    from neuroplastic.restrict.caching import SynapticCache, attach_cache
    from neuroplastic.restrict.policies import (
        GroupFilter,
        attach_restriction,
        build_filters,
        describe,
    )
    from neuroplastic.restrict.topk import count_k, dense_topk_mask, outer_topk, select_outer_topk

# The parameter models load eagerly (pydantic only: the command line builds its options from
# them); everything that needs torch loads on first use.
_LAZY = {
    "SynapticCache": "caching",
    "attach_cache": "caching",
    "GroupFilter": "policies",
    "attach_restriction": "policies",
    "build_filters": "policies",
    "describe": "policies",
    "count_k": "topk",
    "dense_topk_mask": "topk",
    "outer_topk": "topk",
    "select_outer_topk": "topk",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


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
