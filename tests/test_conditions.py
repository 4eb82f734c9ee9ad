"""engine/conditions.py: the grammar of `when`, negation pushed down, DNF expansion, three-valued truth."""

from __future__ import annotations

import pytest

from clonus.engine.knowledge import conditions as cond
from clonus.engine.knowledge.conditions import (
    All,
    Any_,
    Atom,
    ConditionSyntaxError,
    Not,
    holds,
    negate,
    parse_atom,
    to_dnf,
)

# ---- grammar ---------------------------------------------------------------------------------------

PARSED = [
    ("age >= 18", Atom("age", ">=", 18)),
    ("age>=18", Atom("age", ">=", 18)),
    ("daily_dose_mg < 80", Atom("daily_dose_mg", "<", 80)),
    ("daily_dose_mg <= 80", Atom("daily_dose_mg", "<=", 80)),
    ("daily_dose_mg > 80", Atom("daily_dose_mg", ">", 80)),
    ("daily_dose_mg == 80", Atom("daily_dose_mg", "==", 80)),
    ("daily_dose_mg != 80", Atom("daily_dose_mg", "!=", 80)),
    ("egfr < 59.5", Atom("egfr", "<", 59.5)),
    ("egfr > -3", Atom("egfr", ">", -3)),
    ("relief == inadequate", Atom("relief", "==", "inadequate")),
    ("drug != baclofen", Atom("drug", "!=", "baclofen")),
    ("dialysis == true", Atom("dialysis", "==", True)),
    ("dialysis == false", Atom("dialysis", "==", False)),
    ("spasticity in [focal, generalized]", Atom("spasticity", "in", ("focal", "generalized"))),
    ("spasticity in [focal]", Atom("spasticity", "in", ("focal",))),
    ("sleep_apnea not in [none_known, treated]", Atom("sleep_apnea", "not in", ("none_known", "treated"))),
    ("sleep_apnea not   in [none_known]", Atom("sleep_apnea", "not in", ("none_known",))),
    ("age in [18, 18.5]", Atom("age", "in", (18, 18.5))),
    ("other_medications has ciprofloxacin", Atom("other_medications", "has", "ciprofloxacin")),
    ("side_effects lacks fever", Atom("side_effects", "lacks", "fever")),
    ("respiratory_compromise", Atom("respiratory_compromise", "==", True)),
    ("not dialysis", Atom("dialysis", "==", False)),
    ("missing age", Atom("age", "missing")),
    ("known egfr", Atom("egfr", "known")),
    ("  missing   age  ", Atom("age", "missing")),
]


@pytest.mark.parametrize("text, atom", PARSED, ids=[t.strip() for t, _ in PARSED])
def test_parse_atom(text, atom):
    parsed = parse_atom(text)
    assert parsed == atom
    assert type(parsed.value) is type(atom.value)  # 18 stays an int, 59.5 a float, true a bool


@pytest.mark.parametrize("text", [
    "age >= 18", "spasticity in [focal, generalized]", "sleep_apnea not in [none_known, treated]",
    "other_medications has ciprofloxacin", "side_effects lacks fever", "dialysis", "not dialysis",
    "missing age", "known egfr", "egfr < 59.5",
])
def test_str_reads_back_as_the_same_atom(text):
    assert str(parse_atom(text)) == text
    assert parse_atom(str(parse_atom(text))) == parse_atom(text)


SYNTAX_ERRORS = [
    ("age ==", "cannot read condition 'age ==': expected 'fact OP value' with OP one of ==, !=, <, <=, >, "
               ">=, in, not in, has, lacks; or 'missing fact', 'known fact', 'fact', 'not fact'"),
    ("age >=", "cannot read value '=': use a number, true/false or a word"),  # read as `age > =`
    ("age => 18", "cannot read condition 'age => 18'"),
    ("18 <= age", "cannot read condition '18 <= age'"),
    ("", "cannot read condition ''"),
    ("age >= 1 8", "cannot read value '1 8': use a number, true/false or a word"),
    ("relief == 'inadequate'", "cannot read value \"'inadequate'\": use a number, true/false or a word"),
    ("spasticity in focal", "'in' needs a list like [a, b], got 'focal'"),
    ("spasticity not in focal", "'not in' needs a list like [a, b], got 'focal'"),
    ("spasticity in []", "'in' needs at least one value"),
    ("spasticity in [focal, ]", "cannot read value '': use a number, true/false or a word"),
    ("missing", None),  # a bare word is a boolean fact named `missing`: valid grammar, see below
    (18, "a condition is a line of text like 'age >= 18', got 18"),
    (True, "a condition is a line of text like 'age >= 18', got True"),
    (None, "a condition is a line of text like 'age >= 18', got None"),
]


@pytest.mark.parametrize("text, message", [e for e in SYNTAX_ERRORS if e[1] is not None],
                         ids=[repr(t) for t, m in SYNTAX_ERRORS if m is not None])
def test_syntax_error_message(text, message):
    with pytest.raises(ConditionSyntaxError) as info:
        parse_atom(text)
    assert str(info.value).startswith(message)


def test_a_bare_keyword_is_a_boolean_fact_name():
    """`missing` alone is not the unary form: it reads a boolean fact called `missing` (the loader then
    reports it as an unknown fact)."""
    assert parse_atom("missing") == Atom("missing", "==", True)


# ---- negation --------------------------------------------------------------------------------------

COMPLEMENTS = [
    ("age >= 18", "age < 18"), ("age < 18", "age >= 18"),
    ("age > 18", "age <= 18"), ("age <= 18", "age > 18"),
    ("relief == inadequate", "relief != inadequate"), ("relief != inadequate", "relief == inadequate"),
    ("spasticity in [focal]", "spasticity not in [focal]"),
    ("spasticity not in [focal]", "spasticity in [focal]"),
    ("other_medications has ciprofloxacin", "other_medications lacks ciprofloxacin"),
    ("other_medications lacks ciprofloxacin", "other_medications has ciprofloxacin"),
    ("missing age", "known age"), ("known age", "missing age"),
    ("dialysis", "not dialysis"), ("not dialysis", "dialysis"),
]


@pytest.mark.parametrize("text, complement", COMPLEMENTS, ids=[f"not({t})" for t, _ in COMPLEMENTS])
def test_every_operator_has_its_complement(text, complement):
    assert negate(parse_atom(text)) == parse_atom(complement)
    assert negate(negate(parse_atom(text))) == parse_atom(text)


def test_negation_table_is_an_involution():
    assert set(cond.NEGATION) == set(cond.NEGATION.values())
    for op, opposite in cond.NEGATION.items():
        assert cond.NEGATION[opposite] == op


A, B, C = parse_atom("age >= 18"), parse_atom("relief == inadequate"), parse_atom("dialysis")


def test_de_morgan_not_all_is_any_of_negations():
    assert negate(All((A, B))) == Any_((negate(A), negate(B)))
    assert to_dnf(Not(All((A, B)))) == [(negate(A),), (negate(B),)]


def test_de_morgan_not_any_is_all_of_negations():
    assert negate(Any_((A, B))) == All((negate(A), negate(B)))
    assert to_dnf(Not(Any_((A, B)))) == [(negate(A), negate(B))]


def test_double_negation_cancels():
    assert to_dnf(Not(Not(A))) == [(A,)]
    assert to_dnf(Not(All((Not(A), B)))) == [(A,), (negate(B),)]


def test_nested_negation_pushes_down_to_atoms():
    tree = Not(All((A, Any_((B, Not(C))))))
    # not(A and (B or not C)) == not A or (not B and C)
    assert to_dnf(tree) == [(negate(A),), (negate(B), C)]


# ---- DNF ------------------------------------------------------------------------------------------

def test_dnf_of_an_atom_is_one_alternative():
    assert to_dnf(A) == [(A,)]


def test_dnf_distributes_all_over_any():
    tree = All((A, Any_((B, C))))
    assert to_dnf(tree) == [(A, B), (A, C)]


def test_dnf_keeps_order_and_drops_duplicates():
    assert to_dnf(All((A, A, B))) == [(A, B)]
    assert to_dnf(Any_((A, A, B))) == [(A,), (B,)]


def test_dnf_of_the_shipped_missing_data_rule_matches_its_yaml(shipped_kb):
    rule = shipped_kb.rule("scope.missing-dosing-fact")
    assert list(rule.alternatives) == to_dnf(rule.when)
    assert rule.alternatives[0] == (Atom("age", "missing"),)
    assert all(any(a.op == "missing" for a in alt) for alt in rule.alternatives)


def _atoms(n: int) -> list[Atom]:
    return [Atom("age", ">=", i) for i in range(n)]


def test_dnf_limit_allows_exactly_the_maximum():
    assert len(to_dnf(Any_(tuple(_atoms(cond.MAX_DISJUNCTS))))) == cond.MAX_DISJUNCTS
    pairs = tuple(Any_((Atom("age", ">=", i), Atom("age", "<", i))) for i in range(5))
    assert len(to_dnf(All(pairs))) == 2 ** 5 == cond.MAX_DISJUNCTS


@pytest.mark.parametrize("tree", [
    Any_(tuple(_atoms(cond.MAX_DISJUNCTS + 1))),
    All(tuple(Any_((Atom("age", ">=", i), Atom("age", "<", i))) for i in range(6))),
    Not(All(tuple(_atoms(cond.MAX_DISJUNCTS + 1)))),
], ids=["any-of-33", "all-of-six-pairs-64", "not-all-of-33"])
def test_dnf_limit_is_refused_with_advice(tree):
    with pytest.raises(ConditionSyntaxError) as info:
        to_dnf(tree)
    assert str(info.value) == f"condition expands to more than {cond.MAX_DISJUNCTS} alternatives; split the rule"


def test_atoms_lists_every_atom_in_order():
    assert cond.atoms(All((A, Not(Any_((B, C)))))) == [A, B, C]


# ---- three-valued truth ---------------------------------------------------------------------------

HOLDS = [
    ("age >= 18", 45, True), ("age >= 18", 18, True), ("age >= 18", 17.9, False),
    ("age > 18", 18, False), ("age <= 18", 18, True), ("age < 18", 18, False),
    ("daily_dose_mg == 45", 45.0, True), ("daily_dose_mg == 45", 45, True), ("daily_dose_mg != 45", 45.0, False),
    ("relief == inadequate", "inadequate", True), ("relief == inadequate", "adequate", False),
    ("relief != inadequate", "adequate", True),
    ("dialysis", True, True), ("dialysis", False, False), ("not dialysis", False, True),
    ("dialysis", 1, False),  # a number is not the boolean true
    ("spasticity in [focal, generalized]", "focal", True), ("spasticity in [focal]", "generalized", False),
    ("spasticity not in [focal]", "generalized", True), ("spasticity not in [focal]", "focal", False),
    ("other_medications has ciprofloxacin", ("ciprofloxacin", "omeprazole"), True),
    ("other_medications has ciprofloxacin", (), False),
    ("other_medications lacks ciprofloxacin", (), True),
    ("other_medications lacks ciprofloxacin", ("ciprofloxacin",), False),
    ("missing age", 45, False), ("known age", 45, True),
]


@pytest.mark.parametrize("text, value, expected", HOLDS, ids=[f"{t} @ {v!r}" for t, v, _ in HOLDS])
def test_holds_on_a_known_fact(text, value, expected):
    assert holds(parse_atom(text), value, known=True) is expected


@pytest.mark.parametrize("text", [t for t, _ in COMPLEMENTS if not t.startswith(("missing", "known"))])
def test_a_comparison_on_an_unknown_fact_is_neither_true_nor_false(text):
    atom = parse_atom(text)
    assert holds(atom, None, known=False) is None
    assert holds(negate(atom), None, known=False) is None  # negating does not make it true


def test_missing_and_known_are_always_decided():
    assert holds(parse_atom("missing age"), None, known=False) is True
    assert holds(parse_atom("known age"), None, known=False) is False


@pytest.mark.parametrize("text, value", [
    ("age >= 18", 17), ("age >= 18", 18), ("relief == inadequate", "adequate"),
    ("spasticity in [focal]", "focal"), ("other_medications has x", ("x",)), ("dialysis", False),
])
def test_negation_flips_truth_on_a_known_fact(text, value):
    atom = parse_atom(text)
    assert holds(negate(atom), value, known=True) is (not holds(atom, value, known=True))
