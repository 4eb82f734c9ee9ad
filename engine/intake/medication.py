"""Medication and condition text read through the KB's vocabularies (kb/medications.yaml, conditions.yaml).

Free text is normalised before it is matched: lower case, punctuation as spaces, strengths ("500 mg",
"4mg", "10 mg/5 ml") and the notations' noise words (salts, forms, routes) dropped; then the longest run of
words from the start that names a medication wins ("ciprofloxacin 500 mg twice daily" -> ciprofloxacin,
"Zanaflex 4mg tab" -> tizanidine, "Luvox" -> fluvoxamine).
"""

from __future__ import annotations

import re

from clonus.engine.knowledge.model import Kb
from clonus.engine.suggest import closest

_STRENGTH_RE = re.compile(r"^\d+(?:[.,]\d+)?(?:[a-zµ]+)?(?:/\d*(?:[.,]\d+)?[a-z]*)?$")
_SPLIT_RE = re.compile(r"[^\w./µ]+")
MAX_TEXT = 200  # a medication or condition is a short phrase; longer text is not matched word by word


def words_of(kb: Kb, text: str, keep_noise: bool = False) -> list[str]:
    """The words of medication text that could name it: no strengths ("500 mg", "4mg", "20 mg/5 mL", the
    units those of notations.yaml), no salts or forms (unless kept: a name may hold one, "combined oral
    contraceptive"), no bare punctuation ("10 MG / acetaminophen")."""
    tokens = [t.strip(".") for t in _SPLIT_RE.split(text.lower()[:MAX_TEXT]) if t.strip(".")]
    words = []
    for token in tokens:
        if _STRENGTH_RE.match(token) or not any(c.isalnum() for c in token):
            continue
        if token.split("/", 1)[0] in kb.mass_units:  # the unit of a strength written apart: "325 MG"
            continue
        if keep_noise or token not in kb.noise_words:
            words.append(token)
    return words


def medication(kb: Kb, text: str) -> str | None:
    """The ingredient a medication text names (a name, brand, misspelling or RxNorm code), or None: the
    longest run of words from the start that is a name, with the noise words first, then without them."""
    names = kb.medication_names
    code = text.strip()
    if code.isdigit() and code in names:  # an RxNorm code, which the strength filter would drop
        return names[code]
    for words in (words_of(kb, text, keep_noise=True), words_of(kb, text)):
        for end in range(len(words), 0, -1):
            found = names.get("_".join(words[:end]))
            if found is not None:
                return found
    return next((names[w] for w in words_of(kb, text) if w in names), None)


def written(kb: Kb, text: str) -> str:
    """Medication text the vocabulary does not know, kept in a normalised form (words joined by _)."""
    return "_".join(words_of(kb, text)) or text.strip().lower().replace(" ", "_")


def closest_medication(kb: Kb, text: str) -> str | None:
    """The known name most like an unknown medication text (for did-you-mean)."""
    return closest("_".join(words_of(kb, text)) or text.lower(), kb.medication_names)


def condition(kb: Kb, text: str) -> tuple[str, str | None]:
    """(the condition, a known one it looks like a typo of): canonical when listed, else as written."""
    key = re.sub(r"[\s\-]+", "_", text.strip().lower())
    if key in kb.condition_names:
        return kb.condition_names[key], None
    near = closest(key, kb.condition_names)
    if near is not None and _similar(key, near):
        return key, near
    return key, None


def _similar(a: str, b: str) -> bool:
    """Close enough to be a typo of a listed condition, not just another condition (ratio >= 0.85)."""
    import difflib

    return difflib.SequenceMatcher(None, a, b).ratio() >= 0.85
