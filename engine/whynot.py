"""Why a code was recommended for a case, and why it was not. Pure functions of the KB, the plan, the
case and its result; the CLI renders them.

- why: each firing that recommended the code, with every condition of the alternative that matched and
  the value it saw; a derived fact is followed back to the firing that asserted it, recursively.
- why not: for each rule that could have recommended the code, the first condition that failed in each
  alternative and the value it saw. A derived fact that was never asserted (or has another value) is
  followed back to the rules that would assert the needed value, and to their own failing condition;
  the firing that asserted the value it has instead is shown too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .conditions import Atom, format_value
from .errors import SafetyError
from .intake import Case
from .model import Kb, Rule
from .plan import Plan
from .result import TraceEntry
from .ruletests import truth

if TYPE_CHECKING:
    from .advice import Advisor

MAX_DEPTH = 8  # derived facts chain at most this deep in a readable explanation


@dataclass(frozen=True)
class Answer:
    """What an explanation reads of an answer. `refused` holds the SafetyError message when the runtime
    refuses the answer (two exclusive codes, say): its firings are still explained."""

    codes: tuple[str, ...]
    trace: tuple[TraceEntry, ...]
    derived: Mapping[str, Any]
    refused: str | None = None


def answer(advisor: Advisor, case: Case) -> Answer:
    """The advisor's answer to a case, or, when the runtime refuses it, the engine's firings as they were."""
    try:
        result = advisor.advise_case(case)
        return Answer(result.codes(), result.trace, result.derived)
    except SafetyError as exc:
        evaluation = advisor.engine.evaluate(case.facts, case.absent)
        kb = advisor.kb
        trace = tuple(TraceEntry(f.rule, f.alternative, f.matched, f.asserted,
                                 tuple(rec.code for rec in kb.rule(f.rule).recommends)) for f in evaluation.firings)
        made = {c for entry in trace for c in entry.recommended}
        return Answer(tuple(c for c in kb.codes if c in made), trace, dict(evaluation.derived), str(exc))


@dataclass(frozen=True)
class Seen:
    """One condition as the case saw it, and for a derived fact the rules behind its value."""

    condition: str
    line: int
    holds: bool | None
    value: str
    behind: tuple[Chain, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"condition": self.condition, "line": self.line, "holds": self.holds, "value": self.value,
                "behind": [c.to_json() for c in self.behind]}


@dataclass(frozen=True)
class Chain:
    """A rule and what it saw: fired (every condition of the matching alternative) or not (the first
    condition that failed, per alternative). `note` says why a rule did not even run."""

    rule: str
    title: str
    file: str
    line: int
    sources: tuple[str, ...]
    fired: bool
    conditions: tuple[Seen, ...]
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "title": self.title, "file": self.file, "line": self.line,
                "sources": list(self.sources), "fired": self.fired, "note": self.note,
                "conditions": [c.to_json() for c in self.conditions]}


class _Context:
    def __init__(self, kb: Kb, plan: Plan, case: Case, result: Answer):
        self.kb, self.plan, self.case, self.result = kb, plan, case, result
        self.active = {r.id for r in plan.rules}

    def value(self, fact: str) -> str:
        definition = self.kb.facts[fact]
        source = self.result.derived if definition.origin == "derived" else self.case.facts
        if fact not in source:
            return "not asserted" if definition.origin == "derived" else "missing"
        value = source[fact]
        shown = format_value(value) if not isinstance(value, str) else value
        return f"{shown} {definition.unit}" if definition.unit and definition.type == "number" else shown

    def seen(self, rule: Rule, atom: Atom, behind: tuple[Chain, ...] = ()) -> Seen:
        return Seen(str(atom), rule.condition_lines.get(str(atom), rule.line),
                    truth(self.kb, atom, self.case.facts, self.result.derived), self.value(atom.fact), behind)

    def chain(self, rule: Rule, fired: bool, conditions: list[Seen], note: str = "") -> Chain:
        return Chain(rule.id, rule.title, rule.file, rule.line, rule.sources, fired, tuple(conditions), note)


def why(kb: Kb, plan: Plan, case: Case, result: Answer, code: str) -> list[Chain]:
    """The firings that recommended `code`, each followed back through the derived facts it read."""
    ctx = _Context(kb, plan, case, result)
    return [_firing(ctx, entry, 0) for entry in result.trace if code in entry.recommended]


def _firing(ctx: _Context, entry: TraceEntry, depth: int) -> Chain:
    rule = ctx.kb.rule(entry.rule)
    conditions = []
    for atom in rule.alternatives[entry.alternative]:
        behind = _asserters(ctx, atom.fact, depth) if ctx.kb.facts[atom.fact].origin == "derived" else ()
        conditions.append(ctx.seen(rule, atom, behind))
    return ctx.chain(rule, True, conditions)


def _asserters(ctx: _Context, fact: str, depth: int) -> tuple[Chain, ...]:
    if depth >= MAX_DEPTH:
        return ()
    return tuple(_firing(ctx, e, depth + 1) for e in ctx.result.trace if any(f == fact for f, _ in e.asserted))


def why_not(kb: Kb, plan: Plan, case: Case, result: Answer, code: str) -> list[Chain]:
    """For each rule that recommends `code`, why it did not fire for this case."""
    ctx = _Context(kb, plan, case, result)
    makers = [r for r in kb.rules if any(rec.code == code for rec in r.recommends)]
    return [_not_fired(ctx, rule, 0, set()) for rule in makers]


def _not_fired(ctx: _Context, rule: Rule, depth: int, visiting: set[str]) -> Chain:
    if rule.id not in ctx.active:
        return ctx.chain(rule, False, [], f"not run: its status is {rule.status} (add --include-draft to run it)")
    if any(e.rule == rule.id for e in ctx.result.trace):
        return ctx.chain(rule, True, [], "it fired")
    failing: dict[Atom, None] = {}
    for alternative in rule.alternatives:
        first = next((a for a in alternative if truth(ctx.kb, a, ctx.case.facts, ctx.result.derived) is not True), None)
        if first is not None:
            failing.setdefault(first)
    conditions = []
    for atom in failing:
        behind: tuple[Chain, ...] = ()
        if ctx.kb.facts[atom.fact].origin == "derived" and depth < MAX_DEPTH and rule.id not in visiting:
            behind = _derivations(ctx, atom, depth, visiting | {rule.id})
        conditions.append(ctx.seen(rule, atom, behind))
    note = f"its condition has {len(rule.alternatives)} branches (any:); the first failing condition of each:" \
        if len(conditions) > 1 else ""
    return ctx.chain(rule, False, conditions, note)


def _derivations(ctx: _Context, atom: Atom, depth: int, visiting: set[str]) -> tuple[Chain, ...]:
    """Why a derived fact failed a condition: what asserted the value it has, and why the rules that
    would assert a value satisfying the condition did not fire."""
    have = _asserters(ctx, atom.fact, depth)
    wanted = [r for r in ctx.kb.rules if r.id not in visiting and
              any(f == atom.fact and truth(ctx.kb, atom, {}, {f: v}) is True for f, v in r.asserts)]
    return have + tuple(_not_fired(ctx, r, depth + 1, visiting) for r in wanted)
