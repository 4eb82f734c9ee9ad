"""Drug names as written ('Zanaflex 4mg tab', 'Baclofen 10 MG Oral Tablet', 'Luvox') and RxNorm codes to
the ingredient of the KB's medication vocabulary (medications.yaml), or None when it names none.

Pure functions of the vocabulary: the words dropped (salts, dose forms, strength units) are data too.
"""

from __future__ import annotations

import re

from clonus.engine.knowledge.model import Kb
from clonus.engine.knowledge.vocabulary import MedicationVocabulary

_WORD_RE = re.compile(r"[a-z]+(?:[/%][a-z0-9]+)*|\d+(?:\.\d+)?|%")
_STRENGTH_RE = re.compile(r"^(?P<number>\d+(?:\.\d+)?)(?P<unit>[a-zµ%/0-9.]*)$")


def normalise_drug(kb: Kb, text: object) -> str | None:
    """Free text -> the ingredient it names, or None. Case, punctuation, salts (hydrochloride, sodium),
    strengths (500 mg, 4mg) and forms (tab, capsule, oral) do not matter; brand names and the
    vocabulary's misspellings lead to their ingredient."""
    vocabulary = kb.medications
    if vocabulary is None or not isinstance(text, str):
        return None
    words = _clean(vocabulary, text, kb.mass_units.keys())
    for size in range(len(words), 0, -1):  # the longest run of words that is a name: 'ethinyl estradiol'
        for start in range(len(words) - size + 1):
            found = vocabulary.by_name.get(" ".join(words[start:start + size]))
            if found:
                return found
    return None


def drug_of_code(kb: Kb, code: object) -> str | None:
    """An RxNorm ingredient or product code (RxCUI) -> the ingredient, or None when the KB has no such code."""
    if kb.medications is None or not isinstance(code, str):
        return None
    return kb.medications.by_code.get(code.strip())


def _clean(vocabulary: MedicationVocabulary, text: str, mass_units) -> list[str]:
    """The words of `text` that may name a drug: lower case, no punctuation, no salt, form or strength."""
    lowered = text.lower().replace("_", " ").replace("-", " ")
    tokens = _WORD_RE.findall(re.sub(r"(\d)([a-zµ])", r"\1 \2", lowered))  # '4mg' -> '4 mg'
    units = set(mass_units) | vocabulary.units
    dropped = vocabulary.salts | vocabulary.forms
    words = []
    for token in tokens:
        if _STRENGTH_RE.match(token) or token in units or token in dropped:
            continue
        words.append(token)
    return words


def drug_words(kb: Kb, text: object) -> str | None:
    """Free text cleaned as normalise_drug cleans it ('Acetaminophen 325 MG Oral Tablet' -> 'acetaminophen'),
    for a medication the vocabulary does not name; None when nothing is left."""
    if kb.medications is None or not isinstance(text, str):
        return None
    words = _clean(kb.medications, text, kb.mass_units.keys())
    return " ".join(words) or None
