"""Running one method, or several on the same budget: the pieces ``neuroplastic run`` uses.

Each module has one job:

- :mod:`~neuroplastic.runs.settings`: the shared settings of a run (:class:`Experiment`) and a
  method's validated parameters (quick mode caps the epochs)
- :mod:`~neuroplastic.runs.device`: ``auto`` / ``cpu`` / ``cuda:1`` → a checked torch device
- :mod:`~neuroplastic.runs.data`: fetch and split the dataset as the settings say
- :mod:`~neuroplastic.runs.build`: build the learner, seeded, with restriction and cache attached
- :mod:`~neuroplastic.runs.information`: information measures of a learner's hidden code
- :mod:`~neuroplastic.runs.record`: evaluate on the test split and assemble the result record
- :mod:`~neuroplastic.runs.lifecycle`: store bookkeeping, checkpoints, resume, failure marking,
  for method runs and named experiments alike
"""

from neuroplastic.runs.build import attach_plasticity_filters, build_learner
from neuroplastic.runs.data import load_data
from neuroplastic.runs.device import resolve_device
from neuroplastic.runs.information import information_fields
from neuroplastic.runs.lifecycle import compare, find_finished, run_experiment, run_method
from neuroplastic.runs.record import make_record, plasticity_fields
from neuroplastic.runs.settings import (
    QUICK_MAX_EPOCHS,
    QUICK_TEST,
    QUICK_TRAIN,
    QUICK_VAL,
    Experiment,
    method_params,
)

__all__ = [
    "QUICK_MAX_EPOCHS",
    "QUICK_TEST",
    "QUICK_TRAIN",
    "QUICK_VAL",
    "Experiment",
    "attach_plasticity_filters",
    "build_learner",
    "compare",
    "find_finished",
    "information_fields",
    "load_data",
    "make_record",
    "method_params",
    "plasticity_fields",
    "resolve_device",
    "run_experiment",
    "run_method",
]
