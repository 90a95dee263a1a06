"""Old name of the spiking reproduction driver, kept so existing commands keep working.

The driver lives in :mod:`neuroplastic.experiments.spiking_reproduce` (also
``neuroplastic run spiking-reproduce``); this module only forwards to it::

    python -m neuroplastic.spiking.reproduce --epochs 100 --seed 0 --threads 1 --resume
"""

from neuroplastic.experiments.spiking_reproduce import main

if __name__ == "__main__":
    main()
