"""The generic checks of one case value: numbers kept exact, text valid and on one line, words split once.

Every value that reaches a rule engine passed here (or units/frequency, which end here too): a number
as the decimal it was written (17.9999 stays below 18; a form YAML 1.1 would misread, 055 or 1:05, is
refused), at most 15 significant digits so that the float the engine compares keeps its order; text
that is valid Unicode (no lone surrogate, as non-UTF-8 argv or JSON "\\ud800" give), printable, short,
with any run of white space (a newline too) one `_`, so that nothing a case says adds a line to a report.
"""

from __future__ import annotations

import math
import unicodedata
from decimal import Decimal
from typing import Any

from clonus.engine.errors import CaseError
from clonus.engine.knowledge.load.yamlsource import DECIMAL_RE
from clonus.engine.knowledge.model import FactDef
from clonus.engine.knowledge.numbers import exactness_problem, to_number

MAX_TEXT = 200          # characters of one text value or word (a drug, a condition, a side effect)
MAX_WORDS = 100         # words in one list
MAX_NUMBER_TEXT = 40    # characters of a number written as text
_REFUSED_CATEGORIES = ("Cc", "Cf", "Cs", "Co", "Cn")  # control, format (bidi overrides), surrogate, unassigned


def range_text(fact: FactDef) -> str:
    """What a number fact accepts, e.g. 'a number from 0 to 130 years'."""
    low = f"above {fact.minimum:g}" if fact.exclusive_minimum else f"from {fact.minimum:g}"
    unit = f" {fact.unit}" if fact.unit else ""
    if fact.minimum is not None and fact.maximum is not None:
        return f"a number {low} to {fact.maximum:g}{unit}"
    if fact.minimum is not None:
        return f"a number {low}{unit}"
    return f"a number{unit}"


def exact_number(raw: Any) -> Decimal | None:
    """The exact decimal a case value writes, or None when it is not a plain decimal number.

    Accepted: Decimal (YAML and JSON case files), int, a finite float (the Python API), and text in the
    one decimal form of YAML case files (`45`, `-3`, `17.9999`, `.5`; no exponent, no leading zero)."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, Decimal):
        return raw
    if isinstance(raw, int):
        return Decimal(raw)
    if isinstance(raw, float):
        return Decimal(repr(raw)) if math.isfinite(raw) else None
    if isinstance(raw, str):
        text = raw.strip()
        return Decimal(text) if len(text) <= MAX_NUMBER_TEXT and DECIMAL_RE.fullmatch(text) else None
    return None


def checked_number(fact: FactDef, path: str, raw: Any, value: Decimal, accepted: str | None = None) -> int | float:
    """A number in the fact's range, exact enough to compare as a float; CaseError otherwise."""
    expected = accepted or range_text(fact)
    if not value.is_finite():
        raise CaseError(path, raw, expected)
    low_fail = fact.minimum is not None and (
        value <= _exact(fact.minimum) if fact.exclusive_minimum else value < _exact(fact.minimum))
    high_fail = fact.maximum is not None and value > _exact(fact.maximum)
    if low_fail or high_fail:
        raise CaseError(path, raw, range_text(fact))
    problem = exactness_problem(value)
    if problem:
        raise CaseError(path, raw, f"{expected}, written with {problem}")
    return to_number(value)


def number_value(fact: FactDef, path: str, raw: Any) -> int | float:
    """A number fact's value from a case (see exact_number), range-checked."""
    value = exact_number(raw)
    if value is None:
        raise CaseError(path, raw, range_text(fact))
    return checked_number(fact, path, raw, value)


def _exact(bound: float) -> Decimal:
    """A KB bound as the decimal its author wrote (YAML gave a float: 0.1 means 0.1)."""
    return Decimal(repr(bound)) if isinstance(bound, float) else Decimal(bound)


def plain_text(path: str, raw: Any, accepted: str) -> str:
    """One text value as written (stripped), refused when it is not valid, printable, short text: no
    control character (a NUL would cut the text short in a C engine: CLIPS reads "baclofen\\0x" as
    "baclofen"), no lone surrogate, no format character. The vocabularies read this text."""
    if not isinstance(raw, str):
        raise CaseError(path, raw, accepted)
    if len(raw) > MAX_TEXT:
        raise CaseError(path, raw, f"{accepted}, of at most {MAX_TEXT} characters")
    bad = next((c for c in raw if not c.isspace() and unicodedata.category(c) in _REFUSED_CATEGORIES), None)
    if bad is not None:
        kind = "a lone surrogate (text that is not valid Unicode)" if unicodedata.category(bad) == "Cs" \
            else f"the control character U+{ord(bad):04X}"
        raise CaseError(path, raw, f"{accepted}; it holds {kind}")
    if not raw.strip():
        raise CaseError(path, raw, accepted)
    return raw.strip()


def normalised(text: str) -> str:
    """Checked text as a rule compares it: lower case, each run of white space (a newline too) one `_`."""
    return "_".join(text.lower().split())


def text_value(path: str, raw: Any, accepted: str) -> str:
    """One text value (plain_text), normalised."""
    return normalised(plain_text(path, raw, accepted))


def word_pieces(path: str, raw: Any) -> list[str]:
    """A words fact's pieces as written (each plain_text): a list of words or one text, and commas
    separate words in both (as on the command line)."""
    accepted = "a list of words, e.g. [ciprofloxacin, omeprazole]"
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list) or len(items) > MAX_WORDS or not all(isinstance(i, str) for i in items):
        raise CaseError(path, raw, accepted)
    pieces: list[str] = []
    for item in items:
        parts = [p for p in item.split(",") if p.strip()]
        if not parts:
            raise CaseError(path, raw, accepted)
        pieces.extend(plain_text(path, part, accepted) for part in parts)
    if len(pieces) > MAX_WORDS:
        raise CaseError(path, raw, f"{accepted}, at most {MAX_WORDS}")
    return pieces


def words_value(path: str, raw: Any) -> tuple[str, ...]:
    """A words fact's words (word_pieces), normalised, each once."""
    return tuple(dict.fromkeys(normalised(p) for p in word_pieces(path, raw)))
