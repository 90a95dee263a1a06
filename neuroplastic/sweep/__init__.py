"""Sweeps: grids of ``neuroplastic run`` configurations on Ray, into one shared store.

- :mod:`~neuroplastic.sweep.spec`: YAML spec / ``--grid`` → validated configurations
- :mod:`~neuroplastic.sweep.execute`: one configuration, validated and run into the store
- :mod:`~neuroplastic.sweep.worker`: the long-lived Ray worker (torch imported once)
- :mod:`~neuroplastic.sweep.driver`: scheduling on Ray, progress, retries, Ctrl-C, resume
- :mod:`~neuroplastic.sweep.tables`: a sweep's results as tables (CSV, Parquet, TensorBoard,
  seed aggregates)

Ray is the optional extra ``sweep`` (``pip install neuroplastic[sweep]``).
"""
