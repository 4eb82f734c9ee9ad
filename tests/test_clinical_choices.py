"""docs/clinical-choices.md lists every clinical choice of the shipped KB with its sources: every rule, with
exactly the sources the rule cites, and every parameter of every profile, so that the page cannot drift
from the KB."""

from __future__ import annotations

import re

from clonus.engine.knowledge.load import load_kb

from conftest import REPO

PAGE = REPO / "docs" / "clinical-choices.md"
ROW = re.compile(r"^\| `([^`]+)`(?:, `[^`]+`)* \|")


def _rows() -> dict[str, list[str]]:
    """First-column names (each backticked name of a row) -> the row's cells."""
    rows = {}
    for line in PAGE.read_text(encoding="utf-8").splitlines():
        if ROW.match(line):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            for name in re.findall(r"`([^`]+)`", cells[0]):
                rows[name] = cells
    return rows


def test_every_rule_is_listed_with_exactly_its_sources(shipped_kb):
    rows = _rows()
    missing = [r.id for r in shipped_kb.rules if r.id not in rows]
    assert not missing, f"rules without their clinical choice in {PAGE.name}: {missing}"
    for rule in shipped_kb.rules:
        listed = {s.strip() for s in rows[rule.id][3].split(",")}
        assert listed == set(rule.sources), (rule.id, sorted(listed), sorted(rule.sources))


def test_every_parameter_of_every_profile_is_listed(shipped_kb):
    rows = _rows()
    names = {n for profile in shipped_kb.profiles for n in load_kb(None, profile).profile.parameters}
    assert not sorted(names - set(rows)), f"parameters without their clinical choice: {sorted(names - set(rows))}"


def test_every_source_the_page_cites_exists(shipped_kb):
    cited = set(re.findall(r"\bS\d\d\b", PAGE.read_text(encoding="utf-8")))
    assert cited and not cited - set(shipped_kb.sources), sorted(cited - set(shipped_kb.sources))
