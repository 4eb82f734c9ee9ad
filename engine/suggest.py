"""The one did-you-mean of clonus: KB problems, case errors, unknown codes, views and graph filters."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

CUTOFF = 0.6  # difflib's own default: close enough to catch a typo, far enough not to guess
MAX_NAME = 100  # a longer "name" is no typo of a short one (and comparing it would cost time)


def closest(name: object, choices: Iterable[object]) -> str | None:
    """The choice most like `name`, or None when nothing is close. Only a short text or number is
    compared: a list, a mapping or a long text (an alias bomb, 50 MB) has no close name."""
    if not isinstance(name, (str, int, float)) or isinstance(name, int) and name.bit_length() > 3 * MAX_NAME:
        return None
    if len(str(name)) > MAX_NAME:
        return None
    found = difflib.get_close_matches(str(name), [str(c) for c in choices], n=1, cutoff=CUTOFF)
    return found[0] if found else None


def did_you_mean(name: object, choices: Iterable[object]) -> str:
    """' (did you mean 'x'?)' to append to a message, or '' when nothing is close."""
    match = closest(name, choices)
    return f" (did you mean {match!r}?)" if match else ""
