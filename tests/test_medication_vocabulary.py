"""The medication vocabulary (kb/medications.yaml) as intake reads it: every name the KB lists reads back
as its ingredient, and free text as clinicians write it finds the drug inside it."""

from __future__ import annotations

import pytest

from clonus.engine.intake.medication import medication
from clonus.engine.knowledge.load import load_kb

KB = load_kb()


@pytest.mark.parametrize("name", sorted(KB.medication_names))
def test_every_listed_name_reads_back_as_its_ingredient(name):
    """Regression: 'combined oral contraceptive' holds a noise word (oral) and was never recognised."""
    assert medication(KB, name.replace("_", " ")) == KB.medication_names[name]


@pytest.mark.parametrize(("text", "ingredient"), [
    ("ciprofloxacin 500 mg twice daily", "ciprofloxacin"),
    ("Zanaflex 4mg tab", "tizanidine"),
    ("Luvox", "fluvoxamine"),
    ("Combined Oral Contraceptive pill", "ethinyl_estradiol"),
    ("baclofen 10 mg oral tablet", "baclofen"),
])
def test_free_text_finds_the_drug(text, ingredient):
    assert medication(KB, text) == ingredient


@pytest.mark.parametrize("text", ["vitamin d", "oral", "500 mg", ""])
def test_text_naming_no_known_drug_is_none(text):
    assert medication(KB, text) is None
