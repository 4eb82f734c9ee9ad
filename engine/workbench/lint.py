"""Lint a KB: every load problem, static findings about its parts, and the conflict and gap search.

Findings are data (`Finding`), each with a stable code from CHECKS, a severity, `file:line` and the rule
it is about. Being unable to run at all (no KB folder) is a LintError. Static checks:

    CL001 load-error            the loader refused something (every problem it reports)
    CL101 rule-without-sources  CL102 rule-without-rationale     (load problems of those fields)
    CL201 unused-fact           a fact no rule reads or asserts (input facts: info, the case format)
    CL202 unused-code           CL203 unused-source              CL204 derived-fact-unread
    CL301 condition-never-true  its conditions contradict each other (CL305: one `any:` branch, as written)
    CL302 needs-underived-fact  it reads a derived value that no rule able to fire asserts
    CL304 needs-draft-rule      with approved rules only, it can never fire
    CL401 review-overdue        CL402 review-dates (missing, in the future, or out of order)
    CL601 safety-section-modified  a profile's safety section differs from the approved one shipped with
                                   clonus (an error unless the change is accepted)
    CL701 precedence            what each recommendation suppresses and outranks (info)
    CL801 not-cacheable         the static check cannot prove the decision cache exact (decide/cache.py):
                                answers are then evaluated case by case (the summary says why either way)

and from the search over the boundary space (search.py): CL501 conflict, CL502 gap, CL503 unsafe-answer,
CL303 rule-never-fires.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from clonus.engine.decide.cache import Cacheability, cacheability
from clonus.engine.decide.evaluation import make_evaluation_plan
from clonus.engine.errors import KbError, LintError, Problem, clip, shown
from clonus.engine.knowledge.boundaries import all_hold, contradiction
from clonus.engine.knowledge.conditions import All, Any_, Atom, Node, atoms, to_dnf
from clonus.engine.knowledge.load import default_kb_dir, load_kb
from clonus.engine.knowledge.load.files import is_file
from clonus.engine.knowledge.load.invariants import safety_changes
from clonus.engine.knowledge.model import Kb, Rule
from clonus.engine.workbench.search import Hit, SearchStats, search


@dataclass(frozen=True)
class Check:
    code: str
    name: str
    severity: str


CHECKS = {c.code: c for c in (
    Check("CL001", "load-error", "error"),
    Check("CL101", "rule-without-sources", "error"),
    Check("CL102", "rule-without-rationale", "error"),
    Check("CL201", "unused-fact", "warning"),
    Check("CL202", "unused-code", "warning"),
    Check("CL203", "unused-source", "warning"),
    Check("CL204", "derived-fact-unread", "warning"),
    Check("CL301", "condition-never-true", "error"),
    Check("CL302", "needs-underived-fact", "error"),
    Check("CL303", "rule-never-fires", "error"),
    Check("CL304", "needs-draft-rule", "warning"),
    Check("CL305", "branch-never-true", "warning"),
    Check("CL401", "review-overdue", "warning"),
    Check("CL402", "review-dates", "warning"),
    Check("CL501", "conflict", "error"),
    Check("CL502", "gap", "error"),
    Check("CL503", "unsafe-answer", "error"),
    Check("CL601", "safety-section-modified", "error"),
    Check("CL701", "precedence", "info"),
    Check("CL801", "not-cacheable", "warning"),
)}


@dataclass(frozen=True)
class Finding:
    code: str
    severity: str
    file: str
    line: int
    rule: str | None
    message: str
    witness: Mapping[str, Any] | None = None  # a case file that shows the finding

    @property
    def name(self) -> str:
        return CHECKS[self.code].name

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name, "severity": self.severity, "file": self.file,
                "line": self.line, "rule": self.rule, "message": self.message, "witness": self.witness}


@dataclass(frozen=True)
class LintReport:
    root: str
    kb: Kb | None
    findings: tuple[Finding, ...]
    searches: tuple[tuple[str, SearchStats], ...] = field(default=())  # (configuration, stats)
    cache: Cacheability | None = None  # whether the decision cache is exact on this KB (decide/cache.py)

    def count(self, severity: str) -> int:
        return sum(1 for f in self.findings if f.severity == severity)

    @property
    def exit_code(self) -> int:
        return 1 if self.count("error") else 0


def finding(code: str, file: str, line: int, rule: str | None, message: str, severity: str | None = None,
            witness: Mapping[str, Any] | None = None) -> Finding:
    return Finding(code, severity or CHECKS[code].severity, file, line, rule, message, witness)


def lint(root: Path | str | None = None, today: date | None = None, engine: str | None = None,
         profile: str | None = None, accept_safety_changes: bool = False) -> LintReport:
    """Every finding about the KB in `root` (the shipped KB when None), under `profile` or under each of
    its profiles (their parameters change what fires); the search runs on `engine`. A safety section that
    differs from the approved one is an error unless `accept_safety_changes`."""
    root = Path(root) if root is not None else default_kb_dir()
    if not is_file(root / "kb.yaml"):
        raise LintError(f"{clip(str(root))}: not a clonus KB folder (it has no kb.yaml)")
    try:
        kb = load_kb(root, profile)
        bound = [kb] + [load_kb(root, name) for name in kb.profiles if profile is None and name != kb.profile.name]
    except KbError as exc:
        return LintReport(str(root), None, tuple(_load_finding(p) for p in exc.problems))
    findings = static_findings(kb, today or date.today()) + _precedence(kb)
    searches = []
    seen: set[tuple] = set()  # a finding of the approved rules (or of one profile) is not repeated
    for each in bound:
        findings.extend(_safety(each, accept_safety_changes))
        if each is not kb:
            findings.extend(f for f in static_findings(each, today or date.today()) if f.code in ("CL301", "CL305"))
        configurations = [("approved rules", False)]
        if any(r.status != "approved" for r in each.rules):
            configurations.append(("all rules (--include-draft)", True))
        try:
            for label, include_draft in configurations:
                hits, stats = search(each, include_draft, engine)
                new = [hit for hit in hits if (hit.kind, hit.rule and hit.rule.id, hit.message) not in seen]
                seen.update((hit.kind, hit.rule and hit.rule.id, hit.message) for hit in hits)
                findings.extend(_hit_finding(each, hit, include_draft) for hit in new)
                searches.append((f"{label}, profile {each.profile.name}" if len(bound) > 1 or profile else label,
                                 stats))
        except KbError as exc:  # the compiler refuses KBs past durable_rules' limits
            findings.extend(_load_finding(p) for p in exc.problems)
    cache = cacheability(make_evaluation_plan(kb))
    findings.extend(finding("CL801", _kb_file(kb), 1, None, reason) for reason in cache.reasons)
    return LintReport(str(root), kb, tuple(_ordered(findings)), tuple(searches), cache)


def _safety(kb: Kb, accepted: bool) -> list[Finding]:
    """CL601 when the profile's safety section is not the approved one shipped with clonus."""
    changes = safety_changes(kb, default_kb_dir())
    if not changes:
        return []
    how = ("accepted with --accept-safety-changes" if accepted else
           "review it, then pass --accept-safety-changes (every answer from this KB says so at the top)")
    return [finding("CL601", _kb_file(kb, "invariants.yaml"), 1, None,
                    f"profile {kb.profile.name}: the safety section differs from the approved one shipped "
                    f"with clonus: {'; '.join(changes)}; {how}", severity="info" if accepted else None)]


def _precedence(kb: Kb) -> list[Finding]:
    """CL701, one per code that suppresses or outranks others: what the answer drops or puts after it."""
    out = []
    for code in kb.codes:
        drops, after = kb.precedence.suppresses.get(code, ()), kb.precedence.outranks.get(code, ())
        if drops or after:
            said = [f"suppresses {', '.join(drops)}"] if drops else []
            said += [f"comes before {', '.join(after)}"] if after else []
            out.append(finding("CL701", _kb_file(kb), kb.precedence.lines.get(code, 1), None,
                               f"{code} {' and '.join(said)}"))
    return out


def _ordered(findings: list[Finding]) -> list[Finding]:
    """Sorted by file and line; a rule already found unable to fire is not reported again by the search."""
    static = {f.rule for f in findings if f.code in ("CL301", "CL302", "CL304")}
    unique: dict[tuple, Finding] = {}
    for f in findings:
        if f.code == "CL303" and f.rule in static:
            continue
        unique.setdefault((f.code, f.file, f.line, f.rule, f.message), f)
    return sorted(unique.values(), key=lambda f: (f.file, f.line, f.code, f.message))


def _load_finding(problem: Problem) -> Finding:
    code = "CL001"
    if problem.rule and problem.field == "sources":
        code = "CL101"
    elif problem.rule and problem.field == "rationale":
        code = "CL102"
    field_part = f"{problem.field}: " if problem.field else ""
    return finding(code, problem.file, problem.line, problem.rule, field_part + problem.message)


def _kb_file(kb: Kb, name: str = "kb.yaml") -> str:
    rel = os.path.relpath(Path(kb.root) / name)
    return rel if not rel.startswith("..") else str(Path(kb.root) / name)


def _hit_finding(kb: Kb, hit: Hit, include_draft: bool) -> Finding:
    code = {"conflict": "CL501", "gap": "CL502", "unsafe": "CL503", "never-fires": "CL303"}[hit.kind]
    where = " with --include-draft" if include_draft else ""
    count = f" ({hit.count} enumerated case{'s' if hit.count != 1 else ''}{where})" if hit.count else where
    file, line = (hit.rule.file, hit.rule.line) if hit.rule else (_kb_file(kb), 1)
    return finding(code, file, line, hit.rule.id if hit.rule else None, hit.message + count, witness=hit.witness)


# -- static checks --------------------------------------------------------------------------------

def static_findings(kb: Kb, today: date) -> list[Finding]:
    return [*_unused(kb), *_never_true(kb), *_underived(kb), *_reviews(kb, today)]


def _unused(kb: Kb) -> Iterable[Finding]:
    read = {a.fact for r in kb.rules for alt in r.alternatives for a in alt}
    read |= {p for f in kb.facts.values() if f.name in read for p in f.product_of}
    asserted = {f for r in kb.rules for f, _ in r.asserts}
    for fact in kb.facts.values():
        if fact.name in read or fact.name in asserted:
            continue
        if fact.origin == "input":
            yield finding("CL201", fact.file, fact.line, None, f"input fact {shown(fact.name)} is read by no rule; it "
                          "is only part of the case format", severity="info")
        else:
            yield finding("CL201", fact.file, fact.line, None, f"derived fact {shown(fact.name)} is neither asserted "
                          "nor read by any rule; remove it")
    for name in sorted(asserted - read, key=list(kb.facts).index):
        fact = kb.facts[name]
        yield finding("CL204", fact.file, fact.line, None,
                      f"derived fact {shown(name)} is asserted but no rule reads it")
    recommended = {rec.code for r in kb.rules for rec in r.recommends}
    for code in kb.codes.values():
        if code.code not in recommended:
            yield finding("CL202", code.file, code.line, None, f"code {shown(code.code)} is recommended by no rule")
    cited = {s for r in kb.rules for s in r.sources}
    for source in kb.sources.values():
        if source.id not in cited:
            yield finding("CL203", source.file, source.line, None, f"source {shown(source.id)} is cited by no rule")


def _never_true(kb: Kb) -> Iterable[Finding]:
    for rule in kb.rules:
        dead = [bad for alt in rule.alternatives if (bad := contradiction(kb, alt)) is not None]
        if len(dead) == len(rule.alternatives):
            bad = dead[0]
            yield finding("CL301", rule.file, _line(rule, bad), rule.id, "the condition can never be true: "
                          f"{' and '.join(map(str, bad))} cannot hold together, so the rule never fires")
            continue
        for branch, bad in _dead_branches(kb, rule.when, rule.when):
            yield finding("CL305", rule.file, _line(rule, bad), rule.id, f"a branch of `any:` can never be true "
                          f"({_branch_text(branch)}): {' and '.join(map(str, bad))} cannot hold together")


def _line(rule: Rule, atoms: list[Atom]) -> int:
    return rule.condition_lines.get(str(atoms[-1]), rule.line)


def _dead_branches(kb: Kb, root: Node, node: Node) -> Iterable[tuple[Node, list[Atom]]]:
    """Branches of `any:` blocks (as written, outside `not:`) that the rest of the condition rules out:
    with that branch chosen, every alternative contradicts itself. Branches inside a dead one are not
    reported again."""
    if isinstance(node, All):
        for item in node.items:
            yield from _dead_branches(kb, root, item)
    elif isinstance(node, Any_):
        for item in node.items:
            alternatives = to_dnf(_replace(root, node, item))
            dead = [bad for alt in alternatives if (bad := contradiction(kb, alt)) is not None]
            if len(dead) == len(alternatives):
                yield item, dead[0]
            else:
                yield from _dead_branches(kb, root, item)


def _replace(tree: Node, target: Node, by: Node) -> Node:
    if tree is target:
        return by
    if isinstance(tree, All):
        return All(tuple(_replace(i, target, by) for i in tree.items))
    if isinstance(tree, Any_):
        return Any_(tuple(_replace(i, target, by) for i in tree.items))
    return tree


def _branch_text(branch: Node) -> str:
    return str(branch) if isinstance(branch, Atom) else "all: " + ", ".join(str(a) for a in atoms(branch))


def derivable(kb: Kb, rules: Iterable[Rule]) -> tuple[set[str], dict[str, set]]:
    """The rules that can fire as far as derived facts go, and the derived values they can assert.
    A boolean derived fact can always be false (no rule asserted it)."""
    rules = [r for r in rules if any(contradiction(kb, alt) is None for alt in r.alternatives)]
    values: dict[str, set] = {n: {False} for n, f in kb.facts.items() if f.origin == "derived" and f.type == "boolean"}
    firable: set[str] = set()
    changed = True
    while changed:
        changed = False
        for rule in rules:
            if rule.id not in firable and any(_possible(kb, alt, values) for alt in rule.alternatives):
                firable.add(rule.id)
                for fact, value in rule.asserts:
                    values.setdefault(fact, set()).add(value)
                changed = True
    return firable, values


def _possible(kb: Kb, alternative: tuple[Atom, ...], values: Mapping[str, set]) -> bool:
    if contradiction(kb, alternative) is not None:
        return False
    derived = {a.fact for a in alternative if kb.facts[a.fact].origin == "derived"}
    return all(any(all_hold([a for a in alternative if a.fact == d], {d: v}) for v in values.get(d, ()))
               for d in derived)


def _missing_derived(kb: Kb, rule: Rule, values: Mapping[str, set]) -> Atom | None:
    for alt in rule.alternatives:
        for atom in alt:
            if kb.facts[atom.fact].origin == "derived" and \
                    not any(all_hold([atom], {atom.fact: v}) for v in values.get(atom.fact, ())):
                return atom
    return None


def _underived(kb: Kb) -> Iterable[Finding]:
    firable, values = derivable(kb, kb.rules)
    approved_firable, approved_values = derivable(kb, [r for r in kb.rules if r.status == "approved"])
    for rule in kb.rules:
        if any(contradiction(kb, alt) is None for alt in rule.alternatives) and rule.id not in firable:
            atom = _missing_derived(kb, rule, values)
            if atom is not None:
                yield finding("CL302", rule.file, rule.condition_lines.get(str(atom), rule.line), rule.id,
                              f"needs `{atom}`, but {_who_asserts(kb, atom, firable)}")
        elif rule.status == "approved" and rule.id in firable and rule.id not in approved_firable:
            atom = _missing_derived(kb, rule, approved_values)
            yield finding("CL304", rule.file, rule.line, rule.id, "with approved rules only this rule can never "
                          f"fire: `{atom}` is asserted only by rules not yet approved")


def _who_asserts(kb: Kb, atom: Atom, firable: set[str]) -> str:
    makers = [r for r in kb.rules if any(f == atom.fact and all_hold([atom], {f: v}) for f, v in r.asserts)]
    if not makers:
        made = sorted({str(v) for r in kb.rules for f, v in r.asserts if f == atom.fact})
        return f"no rule asserts a value that satisfies it (asserted: {', '.join(made) or 'never'})"
    return f"only {', '.join(r.id for r in makers)} assert{'s' if len(makers) == 1 else ''} it, and " \
           f"{'it' if len(makers) == 1 else 'they'} can never fire"


def _reviews(kb: Kb, today: date) -> Iterable[Finding]:
    for rule in kb.rules:
        reviewed = date.fromisoformat(rule.last_reviewed) if rule.last_reviewed else None
        due = date.fromisoformat(rule.review_by) if rule.review_by else None
        if due is not None and due < today:
            yield finding("CL401", rule.file, rule.line, rule.id, f"review was due by {due.isoformat()}; review "
                          "the rule, then set last_reviewed and a new review_by")
        if rule.status == "approved" and (reviewed is None or due is None):
            yield finding("CL402", rule.file, rule.line, rule.id, "an approved rule needs last_reviewed and "
                          "review_by dates")
        if reviewed is not None and reviewed > today:
            yield finding("CL402", rule.file, rule.line, rule.id, f"last_reviewed {reviewed} is in the future")
        if reviewed is not None and due is not None and due < reviewed:
            yield finding("CL402", rule.file, rule.line, rule.id, f"review_by {due} is before last_reviewed {reviewed}")
