"""Experiments: one module per published claim, each a named experiment of the registry
(:mod:`neuroplastic.experiments.registry`), run by ``neuroplastic run NAME`` and recorded in the
run store. Importing the package loads none of them (the registry imports them on first lookup).
"""
