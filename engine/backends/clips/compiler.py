"""Translate an EvaluationPlan into CLIPS source: deftemplates, defrules and two deffunctions (text; the
runtime builds it into one environment).

Each fact the rules read is its own deftemplate `fact-<name>` with a `known` slot and a value slot `v`
(a multislot for words facts), so a missing input fact is `(fact-egfr (known FALSE))`, as in durable.
Each alternative of a rule (its condition in disjunctive form) becomes one defrule `rule-<n>`, with one
pattern per fact it reads; every test is a predicate constraint on the bound value (`=` for numbers,
never a literal: a literal 80 does not match 80.0; `eq` for symbols and strings; `member$` for words),
behind `numberp` for comparisons, so that no test ever errs on a value of another type. A right-hand side
asserts the rule's derived facts (chaining happens in CLIPS) and appends its number and the values it
matched to the global `?*trace*`. `clonus-evaluate` asserts one case's input facts, runs the rules, then
for each stratum asserts `false` for the boolean derived facts no rule asserted and runs again
(decide/evaluation.py); it returns the trace and every derived fact in working memory, in one multifield.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from clonus.engine.decide.evaluation import EvaluationPlan
from clonus.engine.errors import KbError, Problem, shown
from clonus.engine.knowledge.conditions import Atom, Value, listed
from clonus.engine.knowledge.model import Rule

EVALUATE = "clonus-evaluate"
TRACE = "?*trace*"
INT64 = (-(2**63), 2**63 - 1)  # CLIPS integers are C long long; a literal beyond is clamped with a warning
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")  # the loader's fact names, all valid CLIPS symbols
_COMPARE = {"<": "<", "<=": "<=", ">": ">", ">=": ">=", "==": "=", "!=": "<>"}


@dataclass(frozen=True)
class Slot:
    """One fact a compiled rule matched, as its trace record holds it: `value` (one field), `words`
    (a length, then the words) or `missing` (nothing: the fact is absent, matched as None)."""

    fact: str
    kind: str


@dataclass(frozen=True)
class Target:
    """What compiled rule `rule-<n>` stands for: a clonus rule, one alternative, the facts it records."""

    rule: str
    alternative: int
    slots: tuple[Slot, ...]


@dataclass(frozen=True)
class CompiledProgram:
    plan: EvaluationPlan
    constructs: tuple[str, ...]        # CLIPS source, one construct each, built in order
    targets: tuple[Target, ...]        # index n -> compiled rule `rule-<n>`
    inputs: tuple[tuple[str, str], ...]  # (input fact, "value" | "words"): clonus-evaluate's parameters
    derived: tuple[str, ...]           # derived facts clonus-evaluate reports, by index


def template(fact: str) -> str:
    return f"fact-{fact}"


def literal(value: Value) -> str:
    """A value as CLIPS source: TRUE/FALSE, a quoted string, an integer or a float (exact: repr)."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, int):
        if not INT64[0] <= value <= INT64[1]:
            raise ValueError(f"{value} is beyond CLIPS's 64-bit integers")
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value} is not a finite number")
        return repr(value)
    raise ValueError(f"{shown(value)} cannot be written for CLIPS")


def _equal(var: str, value: Value) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"(= {var} {literal(value)})"
    return f"(eq {var} {literal(value)})"


def _test(var: str, atom: Atom) -> str:
    """One condition as a CLIPS predicate on the fact's bound value."""
    if atom.op == "has":
        return f"(member$ {literal(atom.value)} {var})"
    if atom.op == "lacks":
        return f"(not (member$ {literal(atom.value)} {var}))"
    if atom.op in ("in", "not in"):
        tests = [_equal(var, v) for v in listed(atom)]
        either = tests[0] if len(tests) == 1 else "(or " + " ".join(tests) + ")"  # CLIPS's `or` takes 2 or more
        return either if atom.op == "in" else f"(not {either})"
    if atom.op == "==":
        return _equal(var, atom.value)
    if atom.op == "!=":
        return f"(not {_equal(var, atom.value)})"
    return f"({_COMPARE[atom.op]} {var} {literal(atom.value)})"


def _numeric(atom: Atom) -> bool:
    values = listed(atom) if atom.op in ("in", "not in") else (atom.value,)
    return atom.op in ("<", "<=", ">", ">=") or any(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def _pattern(fact: str, atoms: list[Atom], words: bool, var: str) -> tuple[str, Slot]:
    """The pattern of one fact in one alternative, and how its trace record holds the matched value."""
    tests = [a for a in atoms if a.op not in ("missing", "known")]
    if any(a.op == "missing" for a in atoms):
        if len(atoms) > 1:  # `missing x` beside another test of x never matches, as in durable
            return f"({template(fact)} (known FALSE)) (test (eq TRUE FALSE))", Slot(fact, "missing")
        return f"({template(fact)} (known FALSE))", Slot(fact, "missing")
    constraint = var
    if any(_numeric(a) for a in tests):
        constraint += f"&:(numberp {var})"  # a comparison never errs on a value of another type
    constraint += "".join(f"&:{_test(var, a)}" for a in tests)
    value = f"(v ${constraint})" if words else f"(v {constraint})"
    return f"({template(fact)} (known TRUE) {value})", Slot(fact, "words" if words else "value")


def _record(index: int, slots: list[Slot], variables: list[str]) -> str:
    """The right-hand side's trace record: the rule's number, then the values it matched."""
    parts = [f"(bind {TRACE} (create$ {TRACE} {index}"]
    for slot, var in zip(slots, variables, strict=True):
        if slot.kind == "value":
            parts.append(var)
        elif slot.kind == "words":
            parts.append(f"(length$ {var}) {var}")
    return " ".join(parts) + "))"


def _rule(plan: EvaluationPlan, index: int, rule: Rule, alternative: int) -> tuple[str, Target]:
    """One alternative of a rule as `rule-<index>`, and what its trace record holds."""
    kb = plan.kb
    by_fact: dict[str, list[Atom]] = {}
    for atom in rule.alternatives[alternative]:
        by_fact.setdefault(atom.fact, []).append(atom)
    patterns, slots, variables = [], [], []
    for i, (fact, atoms) in enumerate(sorted(by_fact.items())):
        words = kb.facts[fact].type == "words" and kb.facts[fact].origin == "input"
        pattern, slot = _pattern(fact, atoms, words, f"?v{i}")
        patterns.append(pattern)
        slots.append(slot)
        variables.append(f"?v{i}")
    actions = [f"(assert ({template(fact)} (known TRUE) (v {literal(value)})))" for fact, value in rule.asserts]
    actions.append(_record(index, slots, variables))
    text = (f"(defrule rule-{index} {literal(f'{rule.id} #{alternative}')}\n  " + "\n  ".join(patterns)
            + "\n  =>\n  " + "\n  ".join(actions) + ")")
    return text, Target(rule.id, alternative, tuple(slots))


def _templates(plan: EvaluationPlan, facts: list[str]) -> list[str]:
    out = []
    for fact in facts:
        definition = plan.kb.facts[fact]
        multi = definition.type == "words" and definition.origin == "input"
        out.append(f"(deftemplate {template(fact)} (slot known) ({'multislot' if multi else 'slot'} v))")
    return out


def _evaluate_function(plan: EvaluationPlan, inputs: tuple[tuple[str, str], ...], derived: tuple[str, ...]) -> str:
    params = " ".join(f"?k{i} ?i{i}" for i in range(len(inputs)))
    body = [f"(if ?k{i} then (assert ({template(fact)} (known TRUE) (v ?i{i}))) "
            f"else (assert ({template(fact)} (known FALSE))))" for i, (fact, _) in enumerate(inputs)]
    body.append("(run)")
    for stratum_facts in plan.completions:
        for fact in stratum_facts:
            body.append(f"(if (not (any-factp ((?f {template(fact)})) TRUE)) "
                        f"then (assert ({template(fact)} (known TRUE) (v FALSE))))")
        if stratum_facts:
            body.append("(run)")
    body.append(f"(bind ?out (create$ (length$ {TRACE}) {TRACE}))")
    for index, fact in enumerate(derived):
        body.append(f"(do-for-all-facts ((?f {template(fact)})) TRUE (bind ?out (create$ ?out {index} ?f:v)))")
    body.append("?out")
    return f"(deffunction {EVALUATE} ({params})\n  " + "\n  ".join(body) + ")"


def compile_plan(plan: EvaluationPlan) -> CompiledProgram:
    """Build the CLIPS program of a plan; refuse values CLIPS cannot hold exactly (KbError)."""
    kb = plan.kb
    problems = [Problem(kb.root, 0, None, name, f"{shown(name)} is not a name CLIPS can hold")
                for name in sorted(plan.read_facts) if not _NAME_RE.match(name)]
    derived = tuple(sorted(name for name, f in kb.facts.items() if f.origin == "derived"))
    inputs = tuple((name, "words" if kb.facts[name].type == "words" else "value")
                   for name in sorted(plan.read_facts) if kb.facts[name].origin == "input")
    constructs = [f"(defglobal {TRACE} = (create$))", *_templates(plan, [n for n, _ in inputs] + list(derived))]
    targets: list[Target] = []
    for rule in plan.rules:
        for alternative in range(len(rule.alternatives)):
            try:
                text, target = _rule(plan, len(targets), rule, alternative)
            except ValueError as exc:
                problems.append(Problem(rule.file, rule.line, rule.id, None, f"{exc} (CLIPS)"))
                continue
            constructs.append(text)
            targets.append(target)
    if problems:
        raise KbError(problems)
    constructs.append(_evaluate_function(plan, inputs, derived))
    return CompiledProgram(plan, tuple(constructs), tuple(targets), inputs, derived)
