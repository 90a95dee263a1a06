"""What a user sees at the command line, without MNIST: errors, listings, messages."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["run", "backprop", "--set", "lr=nan"], "parameter 'lr' is not a number"),
        (["run", "backprop", "--p", "nan", "--restrict", "top"], "'p' is not a number"),
        (["compare", "--target-accuracy", "nan"], "target accuracy is not a number"),
    ],
)
def test_nan_is_named_not_a_number_in_one_line(cli, args, expected):
    code, out = cli(*args)
    assert code == 2
    assert expected in out
    assert "Traceback" not in out and len(out.strip().splitlines()) == 1


def test_methods_lists_the_allowed_values_of_choice_parameters(cli):
    code, out = cli("methods")
    assert code == 0
    assert "sgd | adam" in out  # backprop's optimizer
    assert "willshaw | covariance | bayes | bcpnn" in out  # memory-capacity's rule
