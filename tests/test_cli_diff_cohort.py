"""`clonus diff OLD NEW --cases COHORT`: a cohort file's patients through two KB versions."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

from clonus.engine.cohort.formats import write_cohort
from clonus.engine.knowledge.load import default_kb_dir

from cohorts import generator

CLONUS = shutil.which("clonus") or str(Path(sys.executable).parent / "clonus")


def test_a_lower_label_maximum_changes_the_patients_above_it(tmp_path, kb_copy):
    profile = kb_copy / "profiles" / "us.yaml"
    text = profile.read_text()
    profile.write_text(re.sub(r"(?m)^  max_daily_mg: 80\b", "  max_daily_mg: 60", text, count=1))
    rows = list(generator.cases("clinic", 300, 8))
    cohort = tmp_path / "panel.csv"
    write_cohort(cohort, iter(rows))
    proc = subprocess.run([CLONUS, "diff", str(default_kb_dir()), str(kb_copy), "--cases", str(cohort), "-f", "json"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["cases_run"] == len(rows)
    changed = doc["cases_changed"]
    assert changed and all(c["where"].startswith(f"{cohort}:") for c in changed)
    ids = {case_id for case_id, _ in rows}
    assert {c["case"] for c in changed} <= ids
    unchanged = subprocess.run([CLONUS, "diff", str(default_kb_dir()), str(default_kb_dir()), "--cases", str(cohort)],
                               capture_output=True, text=True, timeout=120)
    assert (f"CASES: 0 of {len(rows)} change their answer: 0 their recommendations, 0 their dose plan"
            in unchanged.stdout)
