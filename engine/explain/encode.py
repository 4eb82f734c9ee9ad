"""The contract's JSON text, encoded fast (orjson) and byte for byte as json.dumps(indent=2,
ensure_ascii=False) wrote it before: the encoder was slower than the rule engine (265-280 us a case).

orjson and json differ only in how they write a few floats: below 1e-4 (orjson 0.00001 and 1e-9 where
json writes 1e-05 and 1e-09), and non-finite ones (which intake refuses: no answer holds one). When the
encoded text holds such a number, or anything orjson cannot encode (an integer past 64 bits), json
writes it instead, so the bytes never change.
"""

from __future__ import annotations

import json
import re
from typing import Any

_DIFFERENT_FLOAT = re.compile(rb"\de-\d|0\.0000\d")


def contract_json(doc: Any) -> str:
    """`doc` as indented JSON text with a final newline."""
    import orjson

    try:
        encoded = orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)
    except TypeError:
        return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    if _DIFFERENT_FLOAT.search(encoded):
        return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    return encoded.decode()
