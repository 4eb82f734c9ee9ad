"""What a KB change does: rule-level differences, parameter differences, and every case whose answer
changes (its codes, its dose plan or the wording of a recommendation it keeps).

A reviewer reads this before approving a change. Rules are matched by id. Conditions are compared by
meaning (the same alternatives in another order or layout are no change), conclusions by what is
asserted, recommended and planned. A rule whose conditions or conclusions changed while its version did
not is pointed out (unless the two sides bind different parameters: then those explain it). Cases run
under each KB with its own Advisor; `case_changes` takes any iterable of named cases.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clonus.engine.decide.advisor import Advisor
from clonus.engine.decide.doseplan import DosePlan
from clonus.engine.errors import CaseFileError, ClonusError, SafetyError
from clonus.engine.intake.case import parse_case, read_case_text
from clonus.engine.knowledge.conditions import atoms, format_value
from clonus.engine.knowledge.load.files import read_text
from clonus.engine.knowledge.model import Kb, Rule
from clonus.engine.workbench.ruletests import case_id


@dataclass(frozen=True)
class RuleChange:
    rule: str
    kind: str                      # added | removed | changed
    file: str
    line: int
    conditions: tuple[str, ...]    # "- old condition" / "+ new condition"
    conclusions: tuple[str, ...]   # "- recommend x" / "+ assert y: z" / "dose_plan step_max_mg: 15 -> 10"
    metadata: tuple[str, ...]      # "status: draft -> approved", "sources: + S12"...
    version_not_bumped: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "kind": self.kind, "file": self.file, "line": self.line,
                "conditions": list(self.conditions), "conclusions": list(self.conclusions),
                "metadata": list(self.metadata), "version_not_bumped": self.version_not_bumped}


@dataclass(frozen=True)
class CaseChange:
    """How one case's answer differs: codes gained and lost, the dose plan's fields that changed
    ("ceiling_daily_mg: 80 -> 60"), and the codes kept whose text changed (code, old text, new text)."""

    name: str
    where: str
    gained: tuple[str, ...]
    lost: tuple[str, ...]
    old_error: str | None = None
    new_error: str | None = None
    dose_plan: tuple[str, ...] = ()
    wording: tuple[tuple[str, str, str], ...] = ()

    @property
    def codes_changed(self) -> bool:
        return bool(self.gained or self.lost or self.old_error != self.new_error)

    def to_json(self) -> dict[str, Any]:
        return {"case": self.name, "where": self.where, "gained": list(self.gained), "lost": list(self.lost),
                "old_error": self.old_error, "new_error": self.new_error, "dose_plan": list(self.dose_plan),
                "wording": [{"code": c, "old": o, "new": n} for c, o, n in self.wording]}


@dataclass(frozen=True)
class Outcome:
    """What a comparison reads of one answer: the codes in order, each code's text, the dose plan's
    fields as shown, and the error or refusal when there was no answer."""

    codes: tuple[str, ...]
    texts: Mapping[str, str]
    plan: Mapping[str, str] | None
    error: str | None


@dataclass(frozen=True)
class NamedCase:
    name: str
    where: str
    data: Mapping[str, Any]


def rule_changes(old: Kb, new: Kb) -> list[RuleChange]:
    """Rules added, removed or changed. A rule's version should rise with its conditions or conclusions,
    unless the two sides bind different parameter values (another profile, an edited parameter): then
    the parameters explain the change, and parameter_changes lists them."""
    same_profile = old.profile.parameters == new.profile.parameters
    before = {r.id: r for r in old.rules}
    after = {r.id: r for r in new.rules}
    changes = []
    for rid, rule in after.items():
        if rid not in before:
            changes.append(RuleChange(rid, "added", rule.file, rule.line, _plus("+", _conditions(rule)),
                                      _plus("+", _conclusions(rule)), (f"status: {rule.status}",)))
            continue
        was = before[rid]
        conditions = _compare(_conditions(was), _conditions(rule)) if _meaning(was) != _meaning(rule) else ()
        if _meaning(was) != _meaning(rule) and not conditions:
            conditions = ("the same conditions, combined differently (all/any/not)",)
        conclusions = _compare(_conclusions(was), _conclusions(rule))
        metadata = _metadata(was, rule)
        if conditions or conclusions or metadata:
            changes.append(RuleChange(rid, "changed", rule.file, rule.line, conditions, conclusions, metadata,
                                      same_profile and bool(conditions or conclusions) and rule.version <= was.version))
    for rid, rule in before.items():
        if rid not in after:
            changes.append(RuleChange(rid, "removed", rule.file, rule.line, _plus("-", _conditions(rule)),
                                      _plus("-", _conclusions(rule)), ()))
    return changes


def parameter_changes(old: Kb, new: Kb) -> tuple[str, ...]:
    """The named parameters (shared and the profile's) that differ: "max_daily_mg: 80 -> 60"."""
    before, after = old.profile.parameters, new.profile.parameters
    out = []
    for name in sorted(set(before) | set(after)):
        if name not in after:
            out.append(f"{name}: {format_value(before[name])} -> (removed)")
        elif name not in before:
            out.append(f"{name}: (added) -> {format_value(after[name])}")
        elif before[name] != after[name]:
            out.append(f"{name}: {format_value(before[name])} -> {format_value(after[name])}")
    return tuple(out)


def _meaning(rule: Rule) -> frozenset:
    return frozenset(frozenset(alt) for alt in rule.alternatives)


def _conditions(rule: Rule) -> list[str]:
    return [str(a) for a in atoms(rule.when)]


def _conclusions(rule: Rule) -> list[str]:
    out = [f"assert {fact}: {format_value(value)}" for fact, value in rule.asserts]
    for rec in rule.recommends:
        params = ", ".join(f"{k}={format_value(v)}" for k, v in sorted(rec.params.items()))
        out.append(f"recommend {rec.code}" + (f" ({params})" if params else ""))
    for key, value in sorted((rule.dose_plan or {}).items()):
        out.append(f"dose_plan {key}: {format_value(value)}")
    out.extend(f"limit_dose_plan {k}: {format_value(v)}" for k, v in sorted(rule.dose_limits.items()))
    return out


def _plus(sign: str, lines: Iterable[str]) -> tuple[str, ...]:
    return tuple(f"{sign} {line}" for line in lines)


def _compare(old: list[str], new: list[str]) -> tuple[str, ...]:
    """Lines removed then lines added, as multisets (order is not a change)."""
    gone = Counter(old) - Counter(new)
    came = Counter(new) - Counter(old)
    removed = [f"- {line}" for line in old if gone.pop(line, 0)]
    return tuple(removed + [f"+ {line}" for line in new if came.pop(line, 0)])


def _metadata(old: Rule, new: Rule) -> tuple[str, ...]:
    out = []
    for key in ("status", "version", "title", "last_reviewed", "review_by"):
        if getattr(old, key) != getattr(new, key):
            out.append(f"{key}: {getattr(old, key)} -> {getattr(new, key)}")
    if old.rationale != new.rationale:
        out.append("rationale changed")
    sources = _compare(list(old.sources), list(new.sources))
    if sources:
        out.append("sources: " + " ".join(s.replace(" ", "") for s in sources))
    return tuple(out)


def kb_cases(*kbs: Kb) -> list[NamedCase]:
    """The rule test cases of the KBs (by id, the first KB's version of a case winning) and the case
    files in the `examples/` folder beside each KB folder."""
    cases: dict[str, NamedCase] = {}
    for kb in kbs:
        for test in kb.tests:
            cases.setdefault(case_id(test), NamedCase(case_id(test), f"{test.file}:{test.line}", test.case))
    folders = dict.fromkeys(Path(kb.root).resolve().parent / "examples" for kb in kbs)
    for folder in folders:
        for named in case_files([folder]) if folder.is_dir() else []:
            cases.setdefault(named.where, named)
    return list(cases.values())


def case_files(paths: Iterable[Path]) -> list[NamedCase]:
    """Case files named on the command line; a folder stands for its *.yaml, *.yml and *.json files.
    Raises CaseError for a file that is not a usable YAML/JSON mapping."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml", ".json")))
        else:
            files.append(path)
    named = []
    for path in files:
        try:
            text = read_text(path)  # a regular file only, of a few MB at most
        except (OSError, UnicodeDecodeError) as exc:
            raise CaseFileError(str(path), getattr(exc, "strerror", None) or str(exc)) from exc
        named.append(NamedCase(path.name, str(path), read_case_text(text, str(path))))
    return named


def case_changes(old: Kb, new: Kb, cases: Iterable[NamedCase], include_draft: bool = False,
                 engine: str | None = None) -> tuple[list[CaseChange], int]:
    """Every case whose answer differs between the two KBs (codes, dose plan or wording), and how many
    cases ran. `cases` may be any iterable (a generator of a cohort, say): each is read once."""
    changes, count = [], 0
    with Advisor(old, include_draft, engine) as before, Advisor(new, include_draft, engine) as after:
        for case in cases:
            count += 1
            change = compare_case(case, outcome(before, case.data), outcome(after, case.data))
            if change is not None:
                changes.append(change)
    return changes, count


def compare_case(case: NamedCase, old: Outcome, new: Outcome) -> CaseChange | None:
    """How a case's answer changed, or None when the two answers show the same."""
    gained = tuple(c for c in new.codes if c not in old.codes)
    lost = tuple(c for c in old.codes if c not in new.codes)
    wording = tuple((c, old.texts[c], new.texts[c]) for c in new.codes
                    if c in old.texts and c in new.texts and old.texts[c] != new.texts[c])
    plan = _plan_changes(old.plan, new.plan)
    if not (gained or lost or wording or plan) and old.error == new.error:
        return None
    return CaseChange(case.name, case.where, gained, lost, old.error, new.error, plan, wording)


def outcome(advisor: Advisor, data: Mapping[str, Any]) -> Outcome:
    """The answer to a case as a comparison reads it; for an answer the runtime refuses, the codes the
    rules made anyway."""
    try:
        case = parse_case(advisor.kb, data)
    except ClonusError as exc:
        return Outcome((), {}, None, f"{type(exc).__name__}: {exc}")
    try:
        result = advisor.advise_case(case)
    except SafetyError as exc:
        got = advisor.answer(case)
        return Outcome(got.codes, {}, None, f"refused: {got.refused or exc}")
    except ClonusError as exc:
        return Outcome((), {}, None, f"{type(exc).__name__}: {exc}")
    texts = {r.code: r.text for r in result.recommendations}
    return Outcome(result.codes(), texts, _plan_fields(result.dose_plan), None)


def _plan_fields(plan: DosePlan | None) -> dict[str, str] | None:
    """The dose plan's fields as a clinician reads them (ranges, ceiling, regimen, limits)."""
    if plan is None:
        return None
    return {"next_daily_mg": plan.next_range, "ceiling_daily_mg": format_value(plan.ceiling_daily_mg),
            "regimen": plan.regimen, "step_daily_mg": plan.step_range,
            "max_single_dose_mg": format_value(plan.max_single_dose_mg), "interval_h": plan.interval_range,
            "limited_by": ", ".join(plan.limited_by) or "-"}


def _plan_changes(old: Mapping[str, str] | None, new: Mapping[str, str] | None) -> tuple[str, ...]:
    if old is None and new is None:
        return ()
    if old is None or new is None:
        shown = new if new is not None else old
        summary = f"{shown['next_daily_mg']} mg/day, e.g. {shown['regimen']}" if shown else ""
        return (f"added: {summary}",) if new is not None else (f"removed (was {summary})",)
    return tuple(f"{key}: {old[key]} -> {new[key]}" for key in old if old[key] != new[key])
