"""The answer for one case: recommendations, dose plan, missing facts, facts, trace and KB identity."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from clonus.engine.decide.doseplan import DosePlan
from clonus.engine.knowledge.conditions import format_value


@dataclass(frozen=True)
class TraceEntry:
    """One firing, as shown to people: rule, the facts it matched, what it asserted and recommended."""

    rule: str
    alternative: int
    matched: tuple[tuple[str, Any], ...]
    asserted: tuple[tuple[str, Any], ...]
    recommended: tuple[str, ...]


@dataclass(frozen=True)
class Recommendation:
    code: str
    category: str
    severity: str
    title: str
    text: str
    rule: str                 # the first rule that produced it
    rules: tuple[str, ...]    # every rule that produced it, in firing order
    sources: tuple[str, ...]
    because: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code, "category": self.category, "severity": self.severity, "title": self.title,
            "text": self.text, "rule": self.rule, "rules": list(self.rules), "sources": list(self.sources),
            "because": list(self.because),
        }


@dataclass(frozen=True)
class Result:
    recommendations: tuple[Recommendation, ...]
    dose_plan: DosePlan | None
    missing: tuple[str, ...]
    facts: Mapping[str, Any]
    derived: Mapping[str, Any]
    trace: tuple[TraceEntry, ...]
    kb_name: str
    kb_version: str
    kb_digest: str
    include_draft: bool
    draft_rules_fired: tuple[str, ...]
    cited_sources: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # id -> title, url, grade...
    engine: Mapping[str, str] = field(default_factory=dict)  # the backend that evaluated it: name, version
    profile: str = ""                                   # the jurisdiction profile the KB was bound to
    safety_changes: tuple[str, ...] = ()                # how the safety section differs from the approved one
    suppressed: tuple[tuple[str, str], ...] = ()        # (code, the code that suppressed it)
    # Read from FHIR (or another source that records them): input fact -> where it came from, the date
    # the case was read as of, and what the reading noticed. None: not recorded (no key in the JSON).
    provenance: Mapping[str, str] | None = None
    as_of: str | None = None
    intake_notes: tuple[str, ...] = ()

    def codes(self) -> tuple[str, ...]:
        return tuple(r.code for r in self.recommendations)

    def get(self, code: str) -> Recommendation | None:
        return next((r for r in self.recommendations if r.code == code), None)

    def with_intake(self, provenance: Mapping[str, str], as_of: str, notes: tuple[str, ...] = ()) -> Result:
        """This answer with where its facts came from, the as-of date and the intake's notes."""
        return replace(self, provenance=dict(provenance), as_of=as_of, intake_notes=tuple(notes))

    def to_json(self) -> dict[str, Any]:
        """The contract's JSON shape (../shared/contract/CONTRACT.md section 3), plus added keys."""
        contract, intake = self._contract_json(), self._intake_json()
        if not intake:
            return contract
        out: dict[str, Any] = {}
        for key, value in contract.items():  # provenance and as-of beside the facts they describe
            out[key] = value
            if key == "facts":
                out.update(intake)
        return out

    def _intake_json(self) -> dict[str, Any]:
        if self.provenance is None:
            return {}
        return {"provenance": dict(self.provenance), "as_of": self.as_of, "intake_notes": list(self.intake_notes)}

    def _contract_json(self) -> dict[str, Any]:
        return {
            "recommendations": [r.to_json() for r in self.recommendations],
            "dose_plan": self.dose_plan.to_json() if self.dose_plan else None,
            "missing": list(self.missing),
            "facts": {k: _jsonable(v) for k, v in {**self.facts, **self.derived}.items()},
            "trace": [
                {
                    "rule": f.rule,
                    "matched": {fact: _jsonable(value) for fact, value in f.matched},
                    "asserted": [f"{fact} = {format_value(value)}" for fact, value in f.asserted]
                    + [f"recommend {code}" for code in f.recommended],
                }
                for f in self.trace
            ],
            "suppressed": [{"code": code, "by": by} for code, by in self.suppressed],
            "sources": {sid: dict(src) for sid, src in self.cited_sources.items()},
            "kb": {"name": self.kb_name, "version": self.kb_version, "digest": self.kb_digest,
                   "include_draft": self.include_draft, "draft_rules_fired": list(self.draft_rules_fired),
                   "engine": dict(self.engine), "profile": self.profile,
                   "safety_modified": bool(self.safety_changes), "safety_changes": list(self.safety_changes)},
        }


def _jsonable(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


@dataclass(frozen=True)
class Answer:
    """What an explanation reads of an answer. `refused` holds the SafetyError message when the runtime
    refuses the answer (two exclusive codes, say): its firings are still explained."""

    codes: tuple[str, ...]
    trace: tuple[TraceEntry, ...]
    derived: Mapping[str, Any]
    refused: str | None = None
