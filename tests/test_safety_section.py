"""The safety section (kb/invariants.yaml) as every answer shows it: an answer from a KB whose section
differs from the approved one shipped with clonus says so at the top of its text and Markdown, and in JSON
as kb.safety_modified with what changed; so do explanations. (Lint's side: tests/test_lint.py.)"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from clonus.cli.main import app

from conftest import EXAMPLES
from lintkbs import plant

runner = CliRunner()
REFERENCE = str(EXAMPLES / "01-reference.yaml")
TOP = 4  # the decisive action comes first (it may wrap to two lines); the banner is right below it

CHANGES = [
    ("invariants.yaml", "  baclofen: $max_daily_mg\n", "  baclofen: 90\n", "max_daily_mg.baclofen: 80 -> 90"),
    ("invariants.yaml", "  minimum: $adult_age ", "  minimum: 12 ", "adult.minimum: 18 -> 12"),
    ("invariants.yaml", "  - [increase_baclofen, maintain_current_dose]\n", "",
     'exclusions: removed ["increase_baclofen", "maintain_current_dose"]'),
    ("profiles/us.yaml", "  max_daily_mg: 80 ", "  max_daily_mg: 60 ", "max_daily_mg.baclofen: 80 -> 60"),
]
IDS = ["higher-maximum", "lower-adult-age", "exclusion-removed", "lower-profile-ceiling"]


@pytest.mark.parametrize("file, old, new, said", CHANGES, ids=IDS)
def test_every_answer_from_a_modified_safety_section_says_so_at_the_top(kb_copy, file, old, new, said):
    plant(kb_copy / file, old, new)
    args = ["advise", REFERENCE, "--kb", str(kb_copy)]
    doc = json.loads(runner.invoke(app, [*args, "-f", "json"]).stdout)
    assert doc["kb"]["safety_modified"] is True and said in doc["kb"]["safety_changes"]
    text = runner.invoke(app, args).stdout.splitlines()
    assert any(line.startswith("!! SAFETY SECTION MODIFIED") for line in text[:TOP]), text[:TOP]
    assert said in " ".join(text[:TOP + 2])
    markdown = runner.invoke(app, [*args, "-f", "markdown"]).stdout.splitlines()
    assert any("SAFETY SECTION MODIFIED" in line and said in line for line in markdown[:8])
    explained = runner.invoke(app, ["explain", REFERENCE, "--kb", str(kb_copy)]).stdout.splitlines()
    assert explained[1].startswith("!! SAFETY SECTION MODIFIED") and said in explained[1]
    why = json.loads(runner.invoke(app, ["explain", REFERENCE, "--kb", str(kb_copy), "-f", "json"]).stdout)
    assert why["kb"]["safety_modified"] is True and said in why["kb"]["safety_changes"]


@pytest.mark.parametrize("profile", ["us", "uk"])
def test_the_shipped_kb_answers_with_its_approved_safety_section(profile):
    doc = json.loads(runner.invoke(app, ["advise", REFERENCE, "-f", "json", "--profile", profile]).stdout)
    assert doc["kb"]["safety_modified"] is False and doc["kb"]["safety_changes"] == []
    text = runner.invoke(app, ["advise", REFERENCE, "--profile", profile]).stdout
    assert "SAFETY SECTION MODIFIED" not in text
