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
