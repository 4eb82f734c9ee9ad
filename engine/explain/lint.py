"""A lint report for people (text), machines (JSON) and CI (GitHub workflow annotations)."""

from __future__ import annotations

import json

from clonus.engine.workbench.lint import LintReport


def witness_text(witness) -> str:
    import yaml

    return yaml.safe_dump(witness, default_flow_style=True, sort_keys=False, width=10_000).strip()


def _summary(report: LintReport) -> list[str]:
    kb = report.kb
    who = f"{kb.name} {kb.version} ({kb.digest[:19]})" if kb else report.root
    counts = ", ".join(f"{n} {s}{'s' if n != 1 else ''}"
                       for s in ("error", "warning", "info") for n in [report.count(s)])
    lines = [f"{who}: {counts}"]
    for label, s in report.searches:
        lines.append(f"space ({label}): {s.facts} facts, {s.full_size:,} cases at the boundaries; "
                     f"{s.evaluated:,} evaluated after pruning by independence ({s.questions} questions; "
                     f"{s.proved} rule pairs never together by their conditions), in {s.seconds:.1f} s")
    if report.cache is not None:
        lines.append(report.cache.summary())
    return lines


def render_text(report: LintReport) -> str:
    lines = []
    for f in report.findings:
        rule = f"{f.rule}: " if f.rule else ""
        lines.append(f"{f.file}:{f.line}: {f.severity}: {f.code} {f.name}: {rule}{f.message}")
        if f.witness is not None:
            lines.append(f"    witness: {witness_text(f.witness)}")
    if lines:
        lines.append("")
    return "\n".join(lines + _summary(report)) + "\n"


def render_json(report: LintReport) -> str:
    kb = report.kb
    doc = {
        "kb": {"root": report.root, "name": kb.name, "version": kb.version, "digest": kb.digest} if kb
        else {"root": report.root},
        "findings": [f.to_json() for f in report.findings],
        "summary": {s: report.count(s) for s in ("error", "warning", "info")},
        "space": [{"configuration": label, "facts": s.facts, "full_size": s.full_size, "evaluated": s.evaluated,
                   "questions": s.questions, "proved": s.proved, "seconds": round(s.seconds, 3)}
                  for label, s in report.searches],
        "cache": None if report.cache is None else {
            "cacheable": report.cache.cacheable, "reasons": list(report.cache.reasons),
            "notes": list(report.cache.notes), "atoms": report.cache.atoms, "facts": report.cache.facts},
        "exit_code": report.exit_code,
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _escape(text: str, for_property: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if for_property else text


def render_github(report: LintReport) -> str:
    """GitHub Actions workflow commands: one annotation per finding, then the summary as a notice."""
    level = {"error": "error", "warning": "warning", "info": "notice"}
    lines = []
    for f in report.findings:
        message = (f"{f.rule}: " if f.rule else "") + f.message
        if f.witness is not None:
            message += f"\nwitness: {witness_text(f.witness)}"
        lines.append(f"::{level[f.severity]} file={_escape(f.file, True)},line={f.line},"
                     f"title={_escape(f'{f.code} {f.name}', True)}::{_escape(message)}")
    lines.append(f"::notice title=clonus lint::{_escape(chr(10).join(_summary(report)))}")
    return "\n".join(lines) + "\n"
