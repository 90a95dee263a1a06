"""Exceptions raised by neuroplastic.

Every error a user can cause (bad data files, bad parameters, bad shapes, non-finite
updates, an unreachable store) is one of these, with a message that names the thing
at fault, so the CLI can print it in one line instead of a traceback.
"""

from __future__ import annotations


class NeuroplasticError(Exception):
    """Base class of every error neuroplastic raises on purpose."""


class DataError(NeuroplasticError):
    """A dataset file is missing, corrupt, truncated or inconsistent."""


class ParameterError(NeuroplasticError, ValueError):
    """A parameter is unknown or out of its allowed range."""


class ShapeError(NeuroplasticError, ValueError):
    """A tensor has the wrong shape, dtype or device for the operation."""


class NonFiniteUpdateError(NeuroplasticError, FloatingPointError):
    """A proposed weight update contains NaN or infinity; nothing was written."""


class DivergedError(NonFiniteUpdateError):
    """Training proposed a non-finite update (nothing was written); the run stopped there.

    ``step`` is the 1-based index of the batch whose update was refused, ``samples_seen`` the
    samples trained before it.
    """

    def __init__(self, message: str, step: int, samples_seen: int) -> None:
        super().__init__(message)
        self.step = step
        self.samples_seen = samples_seen


class StoreError(NeuroplasticError):
    """The run store cannot be opened or a run cannot be found."""


class OutputError(NeuroplasticError):
    """An output file (``--json``, ``--plot``) cannot be written where it was asked for."""


class CheckpointError(NeuroplasticError):
    """A checkpoint is missing, unreadable or belongs to another run."""


class ContractError(NeuroplasticError, AssertionError):
    """A learner breaks the contract every method keeps (``neuroplastic.testing.check_learner``)."""


class BypassError(ContractError):
    """Synaptic state changed by other than what the ledger counted: a write bypassed the door."""
