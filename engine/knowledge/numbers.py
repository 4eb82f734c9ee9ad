"""Numbers as clonus keeps them: exact decimals turned into int or float, never rounded on the way in.

A value just under a threshold must stay under it (age 17.9999 is not 18), so intake keeps every
number as given; only the boundary search, which builds values of its own, asks for a quantum.
"""

from __future__ import annotations

from decimal import Decimal


def to_number(value: Decimal | int | float | str, quantum: str | None = None) -> int | float:
    """An int when the value is whole, else a float; rounded to `quantum` (e.g. '0.001') only when asked."""
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    if quantum is not None:
        number = number.quantize(Decimal(quantum))
    number = number.normalize()
    return int(number) if number == number.to_integral_value() else float(number)


MAX_DIGITS = 15  # a double holds any 15-digit decimal exactly enough: order and equality survive the float


def exactness_problem(value: Decimal) -> str | None:
    """Why a decimal cannot be handed on as a float without changing how it compares, or None.

    Every value with at most 15 significant digits (and a sane exponent) keeps its order against every
    threshold of the same kind once it is a float: 17.9999 stays below 18. A 17-digit 17.99999999999999999
    would become 18.0, so it is refused rather than rounded.
    """
    if not value.is_finite():
        return "a finite number"
    if not value:
        return None
    if len(value.normalize().as_tuple().digits) > MAX_DIGITS:
        return f"at most {MAX_DIGITS} significant digits"
    if not -300 < value.adjusted() < 300:
        return "a number between 1e-300 and 1e300 in size"
    return None
