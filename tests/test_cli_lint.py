"""cli/lint.py: `clonus lint` output formats and exit codes (0 clean, 1 error findings, 2 cannot run)."""

from __future__ import annotations

import json
import re

import yaml
from typer.testing import CliRunner

from clonus.cli.main import app

from lintkbs import build_kb

runner = CliRunner()


def lint(*args: str):
    """`clonus lint` on a test KB: its own safety section (not the shipped one) is accepted."""
    return runner.invoke(app, ["lint", "--accept-safety-changes", *args])


def shown(result) -> list[str]:
    """The output lines but the accepted safety-section difference (tested on its own below)."""
    lines = [line for line in result.stdout.splitlines() if "CL601" not in line]
    while lines and not lines[0]:
        lines.pop(0)
    return lines


def test_a_clean_kb_exits_0_with_the_space_it_searched(tmp_path):
    result = lint("--kb", str(build_kb(tmp_path)))
    assert result.exit_code == 0, result.stdout
    assert result.stderr == ""
    lines = shown(result)
    assert re.fullmatch(r"mini 1\.0\.0 \(sha256:[0-9a-f]{12}\): 0 errors, 0 warnings, 1 info", lines[0])
    assert re.fullmatch(r"space \(approved rules\): 5 facts, 504 cases at the boundaries; \d+ evaluated after "
                        r"pruning by independence \(\d+ questions; \d+ rule pairs never together by their "
                        r"conditions\), in \d+\.\d s", lines[1])


def test_a_conflict_exits_1_with_file_line_code_rule_and_a_witness(tmp_path):
    kb = build_kb(tmp_path, "conflict")
    result = lint("--kb", str(kb))
    assert result.exit_code == 1
    assert result.stderr == ""
    first, witness = shown(result)[:2]
    assert first.startswith(f"{kb / 'rules' / 'broken.yaml'}:2: error: CL501 conflict: broken.maintain-anyway: "
                            "increase_baclofen and maintain_current_dose appear together")
    assert witness.startswith("    witness: {patient:")
    case = tmp_path / "witness.yaml"
    case.write_text(yaml.safe_dump(yaml.safe_load(witness.split("witness: ", 1)[1])), encoding="utf-8")
    advised = runner.invoke(app, ["advise", str(case), "--kb", str(kb)])
    assert advised.exit_code == 1 and "increase_baclofen and maintain_current_dose" in advised.stderr


def test_warnings_alone_exit_0(tmp_path):
    result = lint("--kb", str(build_kb(tmp_path, "review")))
    assert result.exit_code == 0
    assert "warning: CL401 review-overdue: broken.overdue: review was due by 2020-01-10" in result.stdout
    assert "0 errors, 3 warnings, 1 info" in result.stdout


def test_load_errors_are_findings(tmp_path):
    result = lint("--kb", str(build_kb(tmp_path, "load-error")))
    assert result.exit_code == 1
    assert ("error: CL001 load-error: broken.misspelt: when: unknown fact 'relif' (did you mean 'relief'?)"
            in result.stdout)
    assert "space (" not in result.stdout  # a KB that does not load is not searched


def test_json_output(tmp_path):
    result = lint("--kb", str(build_kb(tmp_path, "gap")), "--format", "json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert set(doc) == {"kb", "findings", "summary", "space", "cache", "exit_code"}
    assert doc["cache"]["cacheable"] is True and doc["cache"]["reasons"] == []
    assert doc["exit_code"] == 1 and doc["summary"] == {"error": 1, "warning": 1, "info": 1}
    gap = next(f for f in doc["findings"] if f["code"] == "CL502")
    assert gap["name"] == "gap" and gap["witness"]["response"]["relief"] == "inadequate"
    assert doc["space"][0]["configuration"] == "approved rules" and doc["space"][0]["evaluated"] > 0


def test_github_annotations(tmp_path):
    kb = build_kb(tmp_path, "never-true")
    result = lint("--kb", str(kb), "--format", "github")
    assert result.exit_code == 1
    lines = shown(result)
    assert lines[0].startswith(f"::error file={kb / 'rules' / 'broken.yaml'},line=13,title=CL301 condition-never-true::"
                               "broken.low-and-high: the condition can never be true")
    assert lines[1].startswith("::warning file=")
    assert lines[-1].startswith("::notice title=clonus lint::mini 1.0.0")
    assert "%0Aspace (approved rules)" in lines[-1]


def test_a_folder_that_is_not_a_kb_cannot_be_linted(tmp_path):
    result = lint("--kb", str(tmp_path))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == f"clonus: error: {tmp_path}: not a clonus KB folder (it has no kb.yaml)\n"


def test_an_unknown_format_is_a_usage_error(tmp_path):
    result = lint("--kb", str(build_kb(tmp_path)), "--format", "xml")
    assert result.exit_code == 2
    assert result.stdout == ""


def test_a_changed_safety_section_fails_lint_until_accepted(tmp_path):
    kb = str(build_kb(tmp_path))
    refused = runner.invoke(app, ["lint", "--kb", kb])
    assert refused.exit_code == 1
    assert "error: CL601 safety-section-modified: profile us: the safety section differs" in refused.stdout
    accepted = runner.invoke(app, ["lint", "--kb", kb, "--accept-safety-changes"])
    assert accepted.exit_code == 0
    assert "info: CL601 safety-section-modified: profile us:" in accepted.stdout
    assert "accepted with --accept-safety-changes" in accepted.stdout


def test_an_unknown_profile_is_one_line_exit_2():
    result = runner.invoke(app, ["lint", "--profile", "ukk"])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "clonus: error: --profile: 'ukk' is not a profile of this KB (did you mean 'uk'?); use one of uk, us"]
