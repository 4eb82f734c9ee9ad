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

from dataclasses import dataclass
from typing import Any

from clonus.engine.decide.evaluation import EvaluationPlan
from clonus.engine.decide.result import Answer, TraceEntry
from clonus.engine.intake.case import Case
from clonus.engine.knowledge.conditions import Atom, format_value
from clonus.engine.knowledge.model import Kb, Rule
from clonus.engine.knowledge.truth import truth

MAX_DEPTH = 8  # derived facts chain at most this deep in a readable explanation


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
    def __init__(self, kb: Kb, plan: EvaluationPlan, case: Case, result: Answer):
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


def why(kb: Kb, plan: EvaluationPlan, case: Case, result: Answer, code: str) -> list[Chain]:
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


def why_not(kb: Kb, plan: EvaluationPlan, case: Case, result: Answer, code: str) -> list[Chain]:
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


def explain_codes(kb: Kb, plan: EvaluationPlan, case: Case, got: Answer,
                  asked: list[tuple[str, bool]]) -> tuple[list[dict[str, Any]], bool]:
    """Each asked code (True: why, False: why not) explained the way the answer makes sense: why when it
    was recommended, why not when it was not. The flag says whether every premise held."""
    sections, premise_ok = [], True
    for code, want_why in asked:
        made = code in got.codes
        premise_ok = premise_ok and made == want_why
        chains = (why if made else why_not)(kb, plan, case, got, code)
        sections.append({"code": code, "title": kb.codes[code].title, "asked": "why" if want_why else "why-not",
                         "recommended": made, "chains": [c.to_json() for c in chains]})
    return sections, premise_ok


# -- for people ------------------------------------------------------------------------------------

def render_text(knowledge: Kb, case_file: str, got: Answer, sections: list[dict[str, Any]],
                safety_changes: tuple[str, ...] = ()) -> str:
    """The explanation for people; `safety_changes` (how the KB's safety section differs from the
    approved one) is said at the top, as every answer says it."""
    lines = [f"clonus explain {case_file}  (KB {knowledge.name} {knowledge.version}, {knowledge.digest[:19]}, "
             f"profile {knowledge.profile.name})"]
    if safety_changes:
        lines.append("!! SAFETY SECTION MODIFIED: this KB's safety checks differ from the approved ones "
                     f"({'; '.join(safety_changes)}).")
    if got.refused:
        lines.append(f"!! the runtime refuses this answer: {got.refused}")
    for section in sections:
        lines.append("")
        verdict = "recommended" if section["recommended"] else "not recommended"
        if section["asked"] == "why" and not section["recommended"]:
            verdict += " (you asked why; here is why not)"
        if section["asked"] == "why-not" and section["recommended"]:
            verdict += " (you asked why not; here is why)"
        lines.append(f"{section['code']} ({section['title']}): {verdict}")
        if not section["chains"]:
            lines.append("  no rule recommends this code")
        for chain in section["chains"]:
            lines.extend(_chain_lines(chain, "  "))
        cited = sorted({s for chain in section["chains"] for s in _sources(chain)})
        if section["recommended"] and cited:
            lines.append("  sources:")
            lines.extend(f"    {sid} [{knowledge.sources[sid].grade}] {knowledge.sources[sid].title}" for sid in cited)
    return "\n".join(lines) + "\n"


def _sources(chain) -> set[str]:
    found = set(chain["sources"]) if chain["fired"] else set()
    for seen in chain["conditions"]:
        for sub in seen["behind"]:
            found |= _sources(sub)
    return found


def _chain_lines(chain, indent: str) -> list[str]:
    state = "fired" if chain["fired"] else "did not fire"
    lines = [f"{indent}{chain['rule']} {state}: {chain['title']}  ({chain['file']}:{chain['line']}; "
             f"sources {', '.join(chain['sources'])})"]
    if chain["note"]:
        lines.append(f"{indent}  {chain['note']}")
    for seen in chain["conditions"]:
        mark = {True: "yes", False: "no", None: "unknown"}[seen["holds"]]
        lines.append(f"{indent}  {mark:>7}  {seen['condition']}  [{_fact(seen)}: {seen['value']}]  line {seen['line']}")
        for sub in seen["behind"]:
            lines.extend(_chain_lines(sub, indent + "           "))
    return lines


def _fact(seen) -> str:
    words = seen["condition"].split()
    return words[1] if words[0] in ("not", "missing", "known") and len(words) == 2 else words[0]
