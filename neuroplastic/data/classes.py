"""Choosing a subset of the ten digit classes (``--classes 1,2,6``)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from neuroplastic.errors import ParameterError

#: The digit labels MNIST uses.
ALL_CLASSES: tuple[int, ...] = tuple(range(10))


def validate_classes(classes: Iterable[int] | None) -> list[int]:
    """Return the chosen classes sorted, or all ten for ``None``.

    Raises :class:`ParameterError` naming the offending values when classes repeat, lie
    outside 0..9, or fewer than two are given.
    """
    if classes is None:
        return list(ALL_CLASSES)
    chosen = list(classes)
    not_ints = [c for c in chosen if isinstance(c, bool) or not isinstance(c, int)]
    if not_ints:
        raise ParameterError(f"classes must be integers 0..9, got {not_ints}")
    out_of_range = [c for c in chosen if not 0 <= c <= 9]
    if out_of_range:
        raise ParameterError(f"classes must lie in 0..9, got {out_of_range}")
    repeated = sorted(c for c, count in Counter(chosen).items() if count > 1)
    if repeated:
        raise ParameterError(f"classes must be unique, repeated: {repeated}")
    if len(chosen) < 2:
        raise ParameterError(f"need at least 2 classes, got {chosen}")
    return sorted(chosen)


def parse_classes(text: str) -> list[int]:
    """Parse a comma-separated class list such as ``"1,2,6"`` into sorted digit labels.

    Raises :class:`ParameterError` quoting the junk for anything that is not a list of
    at least two distinct integers in 0..9.
    """
    items = [item.strip() for item in text.split(",")]
    if not text.strip():
        raise ParameterError("empty class list; expected comma-separated digits like '1,2,6'")
    junk = [item for item in items if not _is_int(item)]
    if junk:
        shown = ", ".join(repr(item) for item in junk)
        raise ParameterError(
            f"bad class list {text!r}: {shown} not an integer; expected comma-separated "
            "digits like '1,2,6'"
        )
    return validate_classes(int(item) for item in items)


def _is_int(item: str) -> bool:
    """Whether ``item`` is an optionally signed run of ASCII digits."""
    digits = item[1:] if item[:1] in {"+", "-"} else item
    return digits.isascii() and digits.isdigit()
