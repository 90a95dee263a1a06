"""Information measures of a learner's hidden code: I(X;Z), I(Z;Y), bits per synapse."""

from __future__ import annotations

from typing import Any

from torch import Tensor

from neuroplastic.methods import Learner
from neuroplastic.metrics import VIBSettings, plugin_mutual_information, variational_information


def information_fields(
    learner: Learner, x: Tensor, y: Tensor, n_input: int, n_all: int
) -> dict[str, Any]:
    """I(X;Z), I(Z;Y) and bits per synapse of the learner's hidden code on (x, y).

    I(X;Z): variational bottleneck rate with the fixed :class:`VIBSettings` defaults (the same
    for every method). I(Z;Y): plug-in estimate with Miller–Madow correction, Z discretised as
    the identity of the most active hidden unit (a binary activity pattern is unique per sample
    for wide layers, which would make I(Z;Y) = H(Y) for any code). Bits per synapse: I(X;Z)
    divided by the ``n_input`` non-silent input→hidden synapses (``_all``: by all ``n_all``).
    """
    z = learner.hidden_code(x)
    if z is None:
        return {}
    settings = VIBSettings()
    vib = variational_information(z, settings=settings)
    bits_z_y = plugin_mutual_information(z.argmax(1), y)
    return {
        "bits_x_z": vib.bits,
        "bits_z_y": bits_z_y,
        "bits_per_synapse": vib.bits / n_input if n_input else None,
        "bits_per_synapse_all": vib.bits / n_all if n_all else None,
        "info_estimator": {
            "i_x_z": "variational bottleneck rate (held-out KL, bits)",
            "vib_settings": settings.model_dump(),
            "i_z_y": "plug-in, Miller-Madow; Z = argmax hidden unit",
            "samples": int(x.shape[0]),
            "counted_synapses": "input→hidden, |w| > nonsilent_eps",
        },
    }
