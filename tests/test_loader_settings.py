"""engine/knowledge/load/: profiles, precedence and the safety section (invariants.yaml), each broken in a
copy of the shipped KB and reported as its exact `file:line: field: message` (data: one row a case)."""

from __future__ import annotations

import pytest

from test_loader import plant, problems


@pytest.fixture
def kb_dir(kb_copy, monkeypatch):
    """The writable KB copy, with the working directory set so problems name files as kb/<file>."""
    monkeypatch.chdir(kb_copy.parent)
    return kb_copy


BROKEN = [
    # (id, file, anchor, old, new, expected problem); {file} {line} {next_line} are filled in.
    # -- profiles (kb/profiles/<name>.yaml over kb.yaml parameters)
    ("profile-lacks-a-parameter", "profiles/uk.yaml", "parameters:", "  interval_max_h: 168\n", "",
     "{file}:{params_line}: parameters: lacks interval_max_h, which another profile defines: every profile "
     "gives every jurisdictional parameter"),
    ("profile-overrides-a-safety-parameter", "profiles/uk.yaml", "parameters:", "label: UK (BNF) label",
     "label: UK (BNF) label\n  adult_age: 16",
     "{file}:{next_line}: parameters.adult_age: is shared (kb.yaml parameters) and the safety section "
     "(invariants.yaml) reads it; a profile holds only what differs between jurisdictions"),
    ("profile-overrides-a-shared-parameter", "profiles/uk.yaml", "parameters:", "label: UK (BNF) label",
     "label: UK (BNF) label\n  step_max_mg: 10",
     "{file}:{next_line}: parameters.step_max_mg: is shared (kb.yaml parameters); a profile holds only what "
     "differs between jurisdictions"),
    ("profile-parameter-not-a-value", "profiles/uk.yaml", "parameters:", "max_daily_mg: 100", "max_daily_mg: [100]",
     "{file}:{line}: parameters.max_daily_mg: is a number, true/false or a short text"),
    ("profile-parameter-bad-name", "profiles/uk.yaml", "parameters:", "label: UK", "Label: UK",
     ["{file}:{line}: parameters: 'Label' is not a parameter name like max_daily_mg",
      "{file}:{params_line}: parameters: lacks label, which another profile defines: every profile gives every "
      "jurisdictional parameter"]),
    ("profile-named-after-another-file", "profiles/uk.yaml", "name:", "name: uk", "name: gb",
     "{file}:{line}: name: 'gb' must be the file's name, 'uk'"),
    ("profile-unknown-key", "profiles/uk.yaml", "title:", "title:", "titel: x\ntitle:",
     "{file}:{line}: titel: unknown field (did you mean 'title'?); allowed: name, title, parameters"),
    ("default-profile-unknown", "kb.yaml", "default_profile:", "default_profile: us", "default_profile: usa",
     "{file}:{line}: default_profile: 'usa' is not a profile (did you mean 'us'?); profiles: uk, us"),
    ("rule-unknown-parameter", "rules/dosing.yaml", "id: baclofen.flag.single-dose-above-max",
     "$max_single_dose_mg", "$max_single_dose",
     None),  # filled below: the loader's own wording for a condition's parameter
    ("safety-section-unknown-parameter", "invariants.yaml", "max_daily_mg:", "baclofen: $max_daily_mg",
     "baclofen: $max_dialy_mg",
     "{file}:{line}: max_daily_mg.baclofen: unknown parameter '$max_dialy_mg' (did you mean '$max_daily_mg'?)"),
    # -- precedence (kb.yaml)
    ("precedence-cycle", "kb.yaml", "outranks:", "    evaluate_baclofen_toxicity: [reduce_toward_renal_dose, ",
     "    evaluate_baclofen_toxicity: [urgent_evaluation_withdrawal, reduce_toward_renal_dose, ",
     "{file}:{edge_line}: precedence: a cycle: evaluate_baclofen_toxicity -> urgent_evaluation_withdrawal -> "
     "evaluate_baclofen_toxicity"),
    ("precedence-cycle-through-suppression", "kb.yaml", "suppresses:",
     "    taper_planned_stop: [maintain_current_dose]",
     "    taper_planned_stop: [maintain_current_dose]\n    maintain_current_dose: [urgent_evaluation_withdrawal]",
     # one cycle per tangle, however many the new link closes
     "{file}:{edge_line}: precedence: a cycle: evaluate_baclofen_toxicity -> reduce_toward_renal_dose -> "
     "maintain_current_dose -> urgent_evaluation_withdrawal -> evaluate_baclofen_toxicity"),
    ("precedence-acts-on-itself", "kb.yaml", "suppresses:", "    review_dose_red_flags: [maintain_current_dose]",
     "    review_dose_red_flags: [review_dose_red_flags]",
     "{file}:{line}: precedence.suppresses: 'review_dose_red_flags' acts on itself"),
    ("precedence-unknown-code", "kb.yaml", "suppresses:", "    review_dose_red_flags: [maintain_current_dose]",
     "    review_dose_red_flags: [maintain_current_dos]",
     "{file}:{line}: precedence.suppresses: unknown code 'maintain_current_dos' (did you mean "
     "'maintain_current_dose'?)"),
    ("precedence-unknown-key", "kb.yaml", "precedence:", "  outranks:", "  outrank:",
     "{file}:{line}: precedence.outrank: unknown field (did you mean 'outranks'?); allowed: suppresses, outranks"),
    # -- the safety section (invariants.yaml)
    ("safety-section-key-missing", "invariants.yaml", "drug_fact:", "drug_fact: drug ", "# drug_fact: drug ",
     "{file}:{adult_line}: drug_fact: is required in the safety section"),
    ("safety-section-unknown-key", "invariants.yaml", "exclusions:", "exclusions:", "exclusion: []\nexclusions:",
     "{file}:{line}: exclusion: unknown field (did you mean 'exclusions'?); allowed: adult, drug_fact, max_daily_mg, "
     "required, exclusions"),
    ("safety-adult-fact-not-a-number", "invariants.yaml", "adult:", "fact: age", "fact: drug",
     "{file}:{line}: adult.fact: 'drug' is not an input number fact (it is input, a text)"),
    ("safety-drug-fact-unknown", "invariants.yaml", "drug_fact:", "drug_fact: drug ", "drug_fact: drugs ",
     "{file}:{line}: drug_fact: 'drugs' is not an input text fact (did you mean 'drug'?)"),
    ("safety-required-derived-fact", "invariants.yaml", "required:", "when: [drug == baclofen]",
     "when: [escalating == true]",
     "{file}:{line}: required.when: 'escalating' is derived; write it in input facts"),
    ("safety-required-unknown-code", "invariants.yaml", "required:", "codes: [warn_no_abrupt_discontinuation]",
     "codes: [warn_no_abrupt_stop]",
     "{file}:{line}: required.codes: unknown code 'warn_no_abrupt_stop' (did you mean "
     "'warn_no_abrupt_discontinuation'?)"),
    ("safety-maxima-empty", "invariants.yaml", "max_daily_mg:", "  baclofen: $max_daily_mg", "  {}",
     "{file}:{prev_line}: max_daily_mg: maps each drug a dose plan may be made for to its maximum"),
    ("safety-exclusion-not-a-pair", "invariants.yaml", "exclusions:", "[increase_baclofen, no_escalation_at_max_dose]",
     "[increase_baclofen]",
     "{file}:{line}: exclusions: each exclusion is a pair [code, code]"),
]


def _line_of_text(kb, file: str, text: str) -> int:
    """The first line of kb/`file` that starts with `text` (0 when none: a row that does not use it)."""
    lines = (kb / file).read_text(encoding="utf-8").splitlines()
    return next((i for i, line in enumerate(lines, 1) if line.startswith(text)), 0)


@pytest.mark.parametrize("file, anchor, old, new, expected", [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN])
def test_broken_settings_report_their_exact_problem(kb_dir, file, anchor, old, new, expected):
    text = (kb_dir / file).read_text(encoding="utf-8")
    anchor_line = text[:text.index(anchor)].count("\n") + 1
    line = plant(kb_dir, file, anchor, old, new)
    got = problems(kb_dir)
    if expected is None:
        assert len(got) == 1 and got[0].startswith(f"kb/{file}:") and "unknown parameter '$max_single_dose'" in \
            got[0] and "(did you mean '$max_single_dose_mg'?)" in got[0], got
        return
    where = {"file": f"kb/{file}", "line": line, "next_line": line + 1, "prev_line": line - 1,
             "anchor_line": anchor_line, "adult_line": _line_of_text(kb_dir, file, "adult:"),
             "params_line": _line_of_text(kb_dir, file, "parameters:"),
             # the link that closes a precedence cycle: urgent evaluation outranking the toxicity check
             "edge_line": _line_of_text(kb_dir, file, "    urgent_evaluation_withdrawal: [evaluate_baclofen_toxicity")}
    assert got == [e.format(**where) for e in ([expected] if isinstance(expected, str) else expected)]
