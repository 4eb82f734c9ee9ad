"""`clonus kb` for people: identity, counts and the rules due for review."""

from __future__ import annotations

from typing import Any

from clonus.engine.knowledge.wording import number_text


def render_text(info: dict[str, Any]) -> str:
    c = info["counts"]
    rules = c["rules"]
    lines = [
        f"{info['name']} {info['version']}",
        f"  {info['description']}" if info["description"] else "",
        f"  folder:  {info['root']}",
        f"  digest:  {info['digest']}",
        "",
        f"facts:       {c['facts']['input'] + c['facts']['derived']} ({c['facts']['input']} input, "
        f"{c['facts']['derived']} derived)",
        f"codes:       {c['codes']} in {c['categories']} categories",
        f"sources:     {c['sources']}",
        f"rules:       {sum(rules.values())} (" + ", ".join(f"{n} {s}" for s, n in rules.items()) + ")",
        f"rule tests:  {c['rule_tests']}",
        f"exclusions:  {c['exclusions']}",
        "",
        "profiles (--profile NAME; * the default):",
        *(f"  {'*' if p['bound'] else ' '} {p['name']:<6} {p['title']}; ceiling "
          + ", ".join(f"{drug} {number_text(mg)} mg/day" for drug, mg in p["max_daily_mg"].items()) + f"  ({p['file']})"
          for p in info["profiles"]),
        "",
        f"clonus {info['software']['clonus']}; rule engines: " + ", ".join(
            f"{name} {e['version']}" + ("" if e["available"] else f" (cannot run here: {e['reason']})")
            for name, e in info["software"]["engines"].items()),
        "",
    ]
    review = info["review"]
    overdue = [d for d in review["due"] if d["overdue"]]
    lines.append(f"review (today {review['today']}): {len(overdue)} overdue, "
                 f"{len(review['due']) - len(overdue)} due within {review['within_days']} days, "
                 f"{len(review['without_review_by'])} without a review_by date")
    for d in review["due"]:
        state = "OVERDUE" if d["overdue"] else "due"
        lines.append(f"  {d['file']}:{d['line']}: {d['rule']}: {state} {d['review_by']}")
    for rid in review["without_review_by"]:
        lines.append(f"  {rid}: no review_by date")
    return "\n".join(line for line in lines if line is not None) + "\n"
