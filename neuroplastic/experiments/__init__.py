"""Experiments: one module per published claim, each callable from the library and the CLI."""

from neuroplastic.experiments.continual import (
    check_phase_classes,
    continual_table,
    parse_class_list,
    run_continual,
    write_continual_json,
)

__all__ = [
    "check_phase_classes",
    "continual_table",
    "parse_class_list",
    "run_continual",
    "write_continual_json",
]
