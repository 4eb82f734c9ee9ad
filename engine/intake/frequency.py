"""Frequencies as written ('q8h', 'TID', 't.i.d.', 'every 8 hours', 'twice daily') to doses per day.

A frequency is short: text past MAX_FREQUENCY_TEXT characters is refused before any pattern runs (both
patterns are linear, and the spellings are looked up in a dict)."""

from __future__ import annotations

import re
from typing import Any

from clonus.engine.errors import CaseError
from clonus.engine.knowledge.load.notations import frequency_key
from clonus.engine.knowledge.model import Kb

MAX_FREQUENCY_TEXT = 40
_EVERY_N_HOURS_RE = re.compile(
    r"^(?:q(?P<a>\d+)(?:h|hr|hrs|hour|hours)|every(?P<b>\d+)(?:h|hr|hrs|hour|hours)|(?P<c>\d+)-?hourly)$")


def parse_frequency(kb: Kb, path: str, raw: Any) -> int | float:
    """'q8h', 'TID', 't.i.d.', 'every 8 hours', 'twice daily'... -> doses per day."""
    examples = "a frequency such as q8h, every 8 hours, TID, twice daily, QID, daily or at bedtime"
    if not isinstance(raw, str):
        raise CaseError(path, raw, examples)
    if len(raw) > MAX_FREQUENCY_TEXT:
        raise CaseError(path, raw, f"{examples}, in at most {MAX_FREQUENCY_TEXT} characters")
    key = frequency_key(raw)
    if key in kb.frequencies:
        return kb.frequencies[key]
    match = _EVERY_N_HOURS_RE.match(key)
    if match:
        hours = int(match["a"] or match["b"] or match["c"])
        if 0 < hours <= 24 and 24 % hours == 0:
            return 24 // hours
    raise CaseError(path, raw, examples)
