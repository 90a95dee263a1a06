"""One contract for every registered method: :func:`neuroplastic.testing.check_learner`
(cf. scikit-learn's check_estimator), and the no-bypass check under every restriction policy,
with and without a synaptic cache."""

import pytest
import torch
from pydantic import TypeAdapter

from neuroplastic.energy.ledger import Ledger
from neuroplastic.errors import ContractError, ParameterError
from neuroplastic.methods import BuildContext, available_methods, get_method
from neuroplastic.restrict import POLICIES, CacheParams, RestrictParams, attach_restriction
from neuroplastic.results import MethodFields
from neuroplastic.testing import CHECKS, check_learner

CACHES = {
    "no-cache": None,
    "cache": CacheParams(tau=None, c=0.01, theta=0.01),
    "cache-decay": CacheParams(tau=20.0, c=0.01, theta=0.01, mode="neuron-sum"),
}


# Known gaps, each a strict xfail so it is noticed when fixed: (method, check) -> why
KNOWN_GAPS: dict[tuple[str, str], str] = {}


def _contract_cases():
    for name in available_methods():
        for check in CHECKS:
            gap = KNOWN_GAPS.get((name, check))
            marks = (
                [pytest.mark.xfail(strict=True, raises=ContractError, reason=gap)] if gap else []
            )
            yield pytest.param(name, check, marks=marks, id=f"{name}-{check}")


@pytest.mark.parametrize(("name", "check"), list(_contract_cases()))
def test_contract(name, check):
    check_learner(name, checks=[check])


@pytest.mark.parametrize("cache", list(CACHES))
@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("name", available_methods())
def test_no_bypass_under_every_policy_and_cache(name, policy, cache):
    restrict = RestrictParams(policy=policy, p=0.3, k=4)
    try:  # a policy that cannot apply to a learner says so (a missing declared role)
        attach_restriction(_build(name).roles(name), restrict)
    except ParameterError as exc:
        pytest.skip(str(exc))
    check_learner(
        name,
        checks=["door", "masks_and_signs"],
        restrict=restrict,
        cache=CACHES[cache],
    )


def _build(name):
    method = get_method(name)
    ctx = BuildContext(
        10, 4, (12,), Ledger(), torch.Generator().manual_seed(0), torch.device("cpu")
    )
    return method.build(ctx, method.params_model(batch_size=8))


@pytest.mark.parametrize("name", available_methods())
def test_method_fields_are_a_typed_part_of_the_record(name):
    learner = _build(name)
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(8, 10, generator=g), torch.randint(0, 4, (8,), generator=g)
    fields = learner.method_fields(x, y)
    if fields is not None:  # one of the record's typed kinds, and round-trips through JSON
        assert TypeAdapter(MethodFields).validate_json(fields.model_dump_json()) == fields
