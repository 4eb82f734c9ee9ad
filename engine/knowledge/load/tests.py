"""rules/*.tests.yaml: rule tests, each a case with the codes that must and must not appear, the code that
must come first (the decisive action), the rules that must fire and the profile it runs under."""

from __future__ import annotations

from clonus.engine.errors import shown
from clonus.engine.knowledge.model import RuleTest
from clonus.engine.suggest import did_you_mean

from .common import plain, unknown_keys
from .shapes import schema, shape_problems
from .yamlsource import LineDict, LineList


def load_tests(doc, file, codes, out, rule_ids: set[str] | None = None, profiles: tuple[str, ...] = ()
               ) -> list[RuleTest]:
    """Every test of a tests file; `fires` names rules (checked against `rule_ids`), `profile` one of
    `profiles`."""
    node = doc.get("tests") if isinstance(doc, dict) else None
    if not isinstance(node, LineList):
        out.add(file, getattr(doc, "line", 1), None, "tests", "a test file holds a list under 'tests:'")
        return []
    tests = []
    file_schema = schema("rule-tests.schema.json")
    for i, spec in enumerate(node):
        line = node.line_of(i)
        if (not isinstance(spec, LineDict) or not isinstance(spec.get("name"), str)
                or not isinstance(spec.get("case"), dict)):
            out.add(file, line, None, "tests", "each test has a name and a case")
            continue
        misshapen = list(shape_problems(spec, file_schema["properties"]["tests"]["items"], file_schema, "", line))
        if misshapen:  # no other check reads a value of the wrong shape
            for field, at, message in misshapen:
                out.add(file, at, spec["name"], field, message)
            continue
        unknown_keys(spec, ("name", "case", "expect", "forbid", "first", "fires", "profile", "todo"), file,
                     spec["name"], out)
        first = spec.get("first")
        if first is not None and first not in codes:
            out.add(file, spec.line_of("first"), spec["name"], "first",
                    f"unknown code {shown(first)}{did_you_mean(str(first), codes)}")
        fires = spec.get("fires") or []
        if not isinstance(fires, list):
            out.add(file, spec.line_of("fires"), spec["name"], "fires", "is a list of rule ids")
            fires = []
        for j, rule_id in enumerate(fires):
            if rule_ids is not None and rule_id not in rule_ids:
                out.add(file, spec["fires"].line_of(j), spec["name"], "fires",
                        f"unknown rule {shown(rule_id)}{did_you_mean(rule_id, rule_ids)}")
        profile = spec.get("profile")
        if profile is not None and profile not in profiles:
            out.add(file, spec.line_of("profile"), spec["name"], "profile",
                    f"{shown(profile)} is not a profile{did_you_mean(profile, profiles)}; "
                    f"profiles: {', '.join(profiles)}")
        for key in ("expect", "forbid"):
            listed = spec.get(key) or []
            if not isinstance(listed, list):
                out.add(file, spec.line_of(key), spec["name"], key, "is a list of codes")
                continue
            for j, code in enumerate(listed):
                if code not in codes:
                    out.add(file, spec[key].line_of(j), spec["name"], key,
                            f"unknown code {shown(code)}{did_you_mean(code, codes)}")
        tests.append(RuleTest(spec["name"], plain(spec["case"]), tuple(spec.get("expect") or ()),
                              tuple(spec.get("forbid") or ()), bool(spec.get("todo", False)), file, line,
                              tuple(str(f) for f in fires), profile, first))
    return tests
