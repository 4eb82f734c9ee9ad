"""The contract's JSON text, encoded fast (orjson) and byte for byte as json.dumps(indent=2,
ensure_ascii=False) wrote it before: the encoder was slower than the rule engine (265-280 us a case).

orjson and json differ only in how they write a few floats: below 1e-4 (orjson 0.00001 and 1e-9 where
json writes 1e-05 and 1e-09), and non-finite ones (which intake refuses: no answer holds one). When the
encoded text holds such a number, or anything orjson cannot encode (an integer past 64 bits), json
writes it instead, so the bytes never change.
"""

from __future__ import annotations

import json
from typing import Any

_DIGITS = frozenset(b"0123456789")


def contract_json(doc: Any) -> str:
    """`doc` as indented JSON text with a final newline."""
    import orjson

    try:
        encoded = orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)
    except TypeError:
        return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    if _written_differently(encoded):
        return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    return encoded.decode()


def _written_differently(encoded: bytes) -> bool:
    """Whether the text holds a float orjson writes unlike json: 0.0000... or a digit, e-, a digit (texts
    hold "e-" often, as in side-effects: each is looked at, no regex scans the whole text)."""
    if b"0.0000" in encoded:
        return True
    at = encoded.find(b"e-")
    while at != -1:
        if at > 0 and encoded[at - 1] in _DIGITS and at + 2 < len(encoded) and encoded[at + 2] in _DIGITS:
            return True
        at = encoded.find(b"e-", at + 2)
    return False
