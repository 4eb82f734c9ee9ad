"""Benchmark clonus on one core, every rule engine installed side by side: per-case time, a plain-Python
floor, memory over 100,000 cases, CLI wall time.

    python benchmarks/bench.py [--core N] [--cases 10000] [--long 100000] [--runs 7]

Targets (design, not asserted anywhere; issue 12): engine evaluation median <= 180 us per case, advise(dict)
<= 300 us, a cache hit <= 40 us end to end, the contract JSON encoded in <= 30 us, `clonus advise
examples/01-reference.yaml` <= 0.4 s wall, `clonus --help` <= 0.25 s wall. The cached rows print the cell
count and the hit rate beside them; batch throughput is benchmarks/cohort.py's.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
MEDICATIONS = ("ciprofloxacin", "fluvoxamine", "omeprazole", "gabapentin", "verapamil", "oxycodone", "tizanidine")
SIDE_EFFECTS = ("drowsiness", "sedation", "weakness", "dizziness", "confusion", "hallucinations")


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def generated_case(rng: random.Random, frequencies: list[str]) -> dict:
    """A valid case; each field present most of the time, so most cases reach a dosing decision."""

    def some(value: Any, p: float = 0.85) -> Any:
        return value if rng.random() < p else None

    mg = rng.randint(1, 24) * 2.5
    unit = rng.choice(["mg", "g", "mcg"])
    amount = {"mg": mg, "g": mg / 1000, "mcg": mg * 1000}[unit]
    case = {
        "patient": {
            "age": some(rng.randint(5, 100)),
            "spasticity": some(rng.choice(["focal", "generalized"])),
            "respiratory_compromise": some(rng.random() < 0.15, 0.5),
            "sleep_apnea": some(rng.choice(["none_known", "suspected", "untreated", "treated"]), 0.5),
            "stroke": some(rng.random() < 0.2, 0.5),
            "egfr": some(rng.randint(5, 120), 0.6),
            "dialysis": some(rng.random() < 0.05, 0.5),
            "hepatic_disease": some(rng.random() < 0.1, 0.5),
            "epilepsy": some(rng.random() < 0.1, 0.5),
            "pregnant": some(rng.random() < 0.05, 0.5),
            "other_medications": some(rng.sample(MEDICATIONS, rng.randint(0, 2)), 0.5),
        },
        "medication": {
            "drug": some(rng.choice(["baclofen"] * 9 + ["tizanidine"]), 0.95),
            "route": some(rng.choice(["oral"] * 9 + ["intrathecal"]), 0.5),
            "dose": some(f"{amount:g} {unit}", 0.95),
            "frequency": some(rng.choice(frequencies), 0.95),
        },
        "response": {
            "relief": some(rng.choice(["adequate", "inadequate"]), 0.95),
            "side_effects": some(rng.sample(SIDE_EFFECTS, rng.randint(0, 2)), 0.5),
            "side_effects_intolerable": some(rng.random() < 0.1, 0.5),
            "withdrawal_signs": some(rng.random() < 0.03, 0.5),
        },
    }
    return {s: {k: v for k, v in fields.items() if v is not None} for s, fields in case.items()}


# -- the floor: the shipped KB's decisions hand-written in plain Python -----------------------------------
# FLOOR ONLY. Not used by the product: it shows what the same decisions cost without a rule engine, so the
# engine's overhead can be read off. tests/test_bench_floor.py holds it to the engine's codes (US profile).

US = {"max": 80, "single": 20, "highest": 100}
RED_FLAGS = {"confusion", "hallucinations", "marked_somnolence", "respiratory_depression", "encephalopathy"}
CNS = {"drowsiness", "sedation", "somnolence", "dizziness", "lethargy"} | RED_FLAGS
SUPPRESSES = {code: "maintain_current_dose" for code in (
    "urgent_evaluation_withdrawal", "reduce_toward_renal_dose", "review_dose_red_flags", "taper_planned_stop")}


def _band(daily: float | None, per_day: float | None) -> str | None:
    if daily is None or per_day is None:
        return None
    if daily > 200 or per_day > 8:
        return "implausibly_high"
    return "implausibly_low" if daily < 5 else "below_max" if daily < US["max"] else "at_max" \
        if daily == US["max"] else "above_max"


def _renal(egfr: float | None, dialysis: bool) -> str:
    if dialysis or egfr is not None and egfr < 30:
        return "severe"
    return "unknown" if egfr is None else "moderate" if egfr < 60 else "normal"


def floor_decide(f: Mapping[str, Any]) -> set[str]:
    """The shipped KB's approved rules (kb/rules/*.yaml), as plain Python: the codes the answer holds."""
    out: set[str] = set()
    age, drug, route = f.get("age"), f.get("drug"), f.get("route", "oral")
    daily, relief, per_day = f.get("daily_dose_mg"), f.get("relief"), f.get("doses_per_day")
    meds, classes = f.get("other_medications", ()), set(f.get("other_medication_classes", ()))
    effects, egfr, dialysis = set(f.get("side_effects", ())), f.get("egfr"), f.get("dialysis", False)
    withdrawal, stop, intolerable = f.get("withdrawal_signs"), f.get("stop_planned"), f.get("side_effects_intolerable")
    adult = age is not None and age >= 18 and drug == "baclofen" and route == "oral"
    band, renal = _band(daily, per_day), _renal(egfr, dialysis)
    red, cns = bool(effects & RED_FLAGS), bool(effects & CNS)
    tiz_ci, dan_ci = "cyp1a2_inhibitor_potent" in classes, bool(f.get("hepatic_disease"))
    blocked = escalating = reducing = limit = failed = False
    if age is not None and age < 18:
        out.add("out_of_scope_pediatric")
    if age is not None and age >= 18 and (drug is not None and drug != "baclofen" or route != "oral"):
        out.add("out_of_scope_drug_route")
    if age is None or age >= 18 and route == "oral" and (
            drug is None or drug == "baclofen" and (f.get("dose_mg") is None or per_day is None or relief is None)):
        out.add("request_missing_data")
    if drug == "baclofen":
        out.add("warn_no_abrupt_discontinuation")
        if withdrawal:
            out.add("urgent_evaluation_withdrawal")
            blocked = True
        if stop:
            out.add("taper_planned_stop")
            blocked = reducing = True
        if age is not None and age >= 18 and renal == "severe" and cns:
            out.add("evaluate_baclofen_toxicity")
        if age is not None and age >= 18 and "cns_depressant" in classes:
            out.add("caution_cns_depressants")
    if (drug == "tizanidine" or "tizanidine" in meds) and tiz_ci:
        out.add("tizanidine_with_cyp1a2_inhibitor_now")
    if (drug == "dantrolene" or "dantrolene" in meds) and f.get("hepatic_disease"):
        out.add("dantrolene_with_liver_disease_now")
    if adult:
        out |= {"monitor_adverse_effects", "nonpharmacological_adjuncts"}
        if intolerable:
            out |= {"hold_escalation_side_effects", "reduce_baclofen_gradually"}
            blocked = reducing = True
            failed = failed or relief == "inadequate" and daily is not None and daily >= 30
        if red:
            out |= {"review_dose_red_flags", "reduce_baclofen_gradually"}
            blocked = reducing = True
        if renal in ("moderate", "severe"):
            out.add("renal_dose_caution")
        if renal == "moderate" and daily is not None and daily > 40:
            out.add("flag_above_renal_ceiling")
        if renal == "severe":
            out.add("avoid_escalation_severe_renal_impairment")
            blocked = True
            if daily is not None and daily > 5 and band in ("below_max", "at_max", "above_max"):
                out |= {"reduce_toward_renal_dose", "reduce_baclofen_gradually"}
                reducing = True
        if f.get("epilepsy"):
            out.add("caution_epilepsy")
        if f.get("pregnant"):
            out.add("pregnancy_baclofen_caution")
        if f.get("breastfeeding"):
            out.add("breastfeeding_baclofen_caution")
        if (f.get("stroke") or f.get("condition") == "stroke") and relief == "inadequate":
            out.add("stroke_limited_benefit_caution")
        if age >= 65 and daily is not None and daily >= 30:
            out.add("older_adult_tolerance_limit_reached")
        if band in ("implausibly_low", "implausibly_high"):
            out.add("verify_dose_implausible")
        if f.get("dose_mg", 0) > US["single"] and band in ("below_max", "at_max", "above_max"):
            out.add("flag_single_dose_above_label_max")
        if band in ("at_max", "above_max"):
            limit = blocked = True
        elif band == "below_max" and (renal == "moderate" and daily >= 40 or age >= 65 and daily >= 40):
            limit = blocked = True
        if relief == "inadequate" and band in ("at_max", "above_max"):
            out.add("no_escalation_at_max_dose")
        if relief == "inadequate" and band == "below_max" and limit:
            out.add("no_escalation_dose_limit")
        failed = failed or relief == "inadequate" and limit
        if band == "above_max":
            out |= {"flag_dose_above_label_max", "no_escalation_at_max_dose"}
            if daily > US["highest"]:
                out.add("flag_dose_above_every_label")
        if relief == "adequate" and band in ("below_max", "at_max") and not intolerable and not red:
            out |= {"maintain_current_dose", "use_lowest_effective_dose"}
        if relief == "inadequate" and band == "below_max" and not blocked and per_day is not None and \
                (age < 65 or egfr is not None):
            escalating = True
            out |= {"increase_baclofen", "titration_step_5_15_mg_per_day", "titration_interval_24_72h",
                    "cap_at_80_mg_per_day", "divide_3_4_doses", "use_lowest_effective_dose",
                    "reassess_within_24h", "counsel_sedation_driving"}
            if f.get("sleep_apnea", "none_known") in ("suspected", "untreated"):
                out.add("assess_sleep_apnea_before_escalation")
        if age >= 65 and egfr is None and not dialysis and relief == "inadequate" and band == "below_max" \
                and not blocked:
            out.add("request_missing_data")
        if reducing:
            out.add("reassess_within_24h")
            if relief is not None and band in ("below_max", "at_max", "above_max"):
                out.add("use_lowest_effective_dose")
        if per_day is not None and per_day < 3 and not escalating:
            out.add("flag_fewer_than_three_doses")
    elif drug == "baclofen" and stop:
        pass
    needs_alt = failed or adult and relief == "inadequate" and blocked and not withdrawal and not stop
    spasticity = f.get("spasticity")
    if escalating:
        if per_day < 3:
            out.add("redistribute_to_3_4_daily_doses")
        if f.get("respiratory_compromise"):
            out.add("caution_respiratory")
        if f.get("sleep_apnea") == "treated":
            out.add("confirm_cpap_adherence")
        if age >= 65:
            out.add("cautious_titration_older_adult")
        if spasticity in ("generalized", "focal"):
            out.add(f"if_oral_fails_{spasticity}")
        out.add("if_oral_fails_oral_agents")
    if age is not None and age >= 18 and drug == "baclofen" and route == "intrathecal" and relief == "inadequate":
        out.add("refer_pump_catheter_assessment")
    if adult and spasticity == "focal" and (relief == "inadequate" or needs_alt):
        out.add("consider_botulinum_toxin")
    if failed and spasticity == "generalized":
        out |= {"consider_intrathecal_baclofen", "itb_screening_trial_required"}
    if needs_alt or escalating:
        if tiz_ci:
            out.add("avoid_tizanidine_cyp1a2_inhibitor")
        if dan_ci:
            out.add("avoid_dantrolene_hepatic_disease")
        if f.get("pregnant") or f.get("breastfeeding"):
            out.add("alternatives_pregnancy_caution")
        if renal in ("moderate", "severe"):
            out.add("gabapentin_caution_renal")
    if "cyp1a2_inhibitor" in classes and not tiz_ci and \
            (needs_alt or escalating or drug == "tizanidine" or "tizanidine" in meds):
        out.add("tizanidine_caution_cyp1a2_inhibitor")
    if needs_alt:
        if not tiz_ci:
            out |= {"consider_tizanidine", "tizanidine_start_2mg_tid", "tizanidine_monitor_lfts"}
            if f.get("hepatic_disease"):
                out.add("tizanidine_caution_hepatic")
            if egfr is not None and egfr < 25 or dialysis:
                out.add("tizanidine_caution_renal")
        if f.get("respiratory_compromise"):
            out.add("alternatives_respiratory_caution")
        if not dan_ci:
            out |= {"consider_dantrolene", "dantrolene_monitor_lfts"}
        out |= {"refer_spasticity_specialist", "consider_gabapentin"}
        if spasticity is None:
            out.add("request_spasticity_pattern")
    return out - {victim for code, victim in SUPPRESSES.items() if code in out}


# -- measuring ------------------------------------------------------------------------------------------

def timed(items: list, call: Callable[[Any], Any], repeat: int = 1) -> dict[str, float]:
    """Wall time per case (median, p99, cases/s), and CPU time of this thread (what is left when other
    processes share the core)."""
    walls, cpus = [], []
    for _ in range(repeat):
        for item in items:
            start, cpu = time.perf_counter(), time.thread_time()
            call(item)
            walls.append(time.perf_counter() - start)
            cpus.append(time.thread_time() - cpu)
    walls.sort()
    return {"median": statistics.median(walls), "p99": walls[min(len(walls) - 1, int(len(walls) * 0.99))],
            "rate": len(walls) / sum(walls), "cpu": statistics.median(cpus), "n": len(walls)}


def timed_pair(items: list, first: Callable[[Any], Any], second: Callable[[Any], Any]) -> tuple[dict, dict]:
    """Two calls timed case by case in turn, so that a change in the machine's load falls on both alike;
    which goes first alternates (the second call on a case runs warmer)."""
    walls: tuple[list[float], list[float]] = ([], [])
    cpus: tuple[list[float], list[float]] = ([], [])
    for n, item in enumerate(items):
        for i, call in ((0, first), (1, second)) if n % 2 == 0 else ((1, second), (0, first)):
            start, cpu = time.perf_counter(), time.thread_time()
            call(item)
            walls[i].append(time.perf_counter() - start)
            cpus[i].append(time.thread_time() - cpu)
    out = []
    for wall_times, cpu_times in zip(walls, cpus, strict=True):
        wall_times.sort()
        out.append({"median": statistics.median(wall_times), "rate": len(wall_times) / sum(wall_times),
                    "p99": wall_times[min(len(wall_times) - 1, int(len(wall_times) * 0.99))],
                    "cpu": statistics.median(cpu_times), "n": len(wall_times)})
    return out[0], out[1]


LABEL = 44


def row(label: str, figures: list[dict[str, float]]) -> None:
    """One measurement, one column group per engine: wall median, p99, cases/s, and the CPU median."""
    cells = [f"{f['median'] * 1e6:7.1f} {f['p99'] * 1e6:7.1f} {f['rate']:7.0f} {f['cpu'] * 1e6:7.1f}"
             for f in figures]
    print(f"  {label:<{LABEL}}" + "   ".join(cells) + f"   (n={figures[0]['n']:,})")


def header(engines: list[str]) -> None:
    print(f"  {'':<{LABEL}}" + "   ".join(f"{name:^31}" for name in engines))
    print(f"  {'(us per case; cases per second)':<{LABEL}}" + "   ".join(
        f"{'median':>7} {'p99':>7} {'cases/s':>7} {'CPU':>7}" for _ in engines))


def wall(command: list[str], runs: int) -> tuple[float, float]:
    """Median wall time and median CPU time (user + system) of a command run as a subprocess."""
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def memory(advisor, parsed: list, total: int) -> str:
    """RSS before and after `total` cases through one engine, garbage collected every 1,000."""
    gc.collect()
    before, start = rss_mb(), time.perf_counter()
    for i in range(total):
        c = parsed[i % len(parsed)]
        advisor.engine.evaluate(dict(c.facts), set(c.absent))
        if i % 1000 == 999:
            gc.collect()
    elapsed = time.perf_counter() - start
    return f"RSS {before:.1f} MB before, {rss_mb():.1f} MB after ({elapsed:.1f} s, {total / elapsed:,.0f} cases/s)"


def cached_rows(kb, names, engines, cases, parsed, each, advisors) -> None:
    """The decision cache (a hit: every cell seen once before) and the contract JSON's encoding."""
    import json

    from clonus.engine.cohort.answers import CellAnswers
    from clonus.engine.decide.advisor import Advisor
    from clonus.engine.explain.encode import contract_json

    cached = {name: Advisor(kb, engine=name) for name in names}
    for advisor in cached.values():
        for c in cases:
            advisor.advise(c)
    stats = cached[names[0]].decisions.stats
    cells = len(cached[names[0]].decisions.cells)
    print(f"\n{len(cases):,} generated cases through the decision cache: {cells:,} cells, hit rate "
          f"{stats.hits / stats.lookups:.1%} on the first pass; timed on the second pass (every case a hit)")
    header(engines)
    row("advise, cache hit (intake + rebuild + result)", [timed(cases, cached[name].advise) for name in names])
    answers = {name: CellAnswers(cached[name]) for name in names}
    for one in answers.values():
        for c in cases:
            one.answer(c)
    row("batch row, cache hit (codes + dose plan)", [timed(cases, answers[name].answer) for name in names])
    docs = [advisors[names[0]].advise_case(c).to_json() for c in parsed[:2000]]
    old = timed(docs, lambda d: json.dumps(d, indent=2, ensure_ascii=False) + "\n")
    new = timed(docs, contract_json)
    print(f"  {'contract JSON, json.dumps(indent=2) (before)':<{LABEL}}{old['median'] * 1e6:7.1f} "
          f"{old['p99'] * 1e6:7.1f} {old['rate']:7.0f} {old['cpu'] * 1e6:7.1f}   (n={old['n']:,})")
    print(f"  {'contract JSON, orjson (same bytes)':<{LABEL}}{new['median'] * 1e6:7.1f} "
          f"{new['p99'] * 1e6:7.1f} {new['rate']:7.0f} {new['cpu'] * 1e6:7.1f}   (n={new['n']:,})")
    for advisor in cached.values():
        advisor.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--core", type=int, default=0, help="the one CPU core to run on")
    parser.add_argument("--cases", type=int, default=10_000, help="generated cases for per-case timing")
    parser.add_argument("--long", type=int, default=100_000, help="cases for the memory run")
    parser.add_argument("--runs", type=int, default=7, help="subprocess runs per CLI command (median)")
    args = parser.parse_args()
    os.sched_setaffinity(0, {args.core})

    from clonus.engine.decide.advisor import Advisor
    from clonus.engine.decide.backend import usable_engines
    from clonus.engine.intake.case import parse_case, read_case_text
    from clonus.engine.knowledge.load import load_kb

    kb = load_kb()
    names = list(usable_engines())
    builds: dict[str, float] = {}
    advisors = {}
    for name in names:
        start = time.perf_counter()
        advisors[name] = Advisor(kb, engine=name, cache=False)  # the engine on every case
        builds[name] = time.perf_counter() - start
    engines = [f"{name} {advisors[name].backend.version()}" for name in names]
    print(f"clonus benchmark: Python {sys.version.split()[0]}, core {args.core}, KB {kb.version} "
          f"({len(advisors[names[0]].plan.rules)} rules); engines: {', '.join(engines)}")
    print("  engine build (compile + load the KB): " +
          ", ".join(f"{name} {builds[name] * 1e3:.1f} ms" for name in names))

    examples = [read_case_text(p.read_text(encoding="utf-8"), p.name)
                for p in sorted((REPO / "examples").glob("*.yaml"))]
    parsed_examples = [parse_case(kb, c) for c in examples]
    rng = random.Random(20261125)
    frequencies = sorted(kb.frequencies)
    cases = [generated_case(rng, frequencies) for _ in range(args.cases)]
    parsed = [parse_case(kb, c) for c in cases]
    plain = [dict(c.facts) for c in parsed]
    for advisor in advisors.values():
        for c in parsed[:5000] * 2:  # warm-up: the first thousands of cases grow the heap and run slower
            advisor.engine.evaluate(c.facts, c.absent)

    def each(call: Callable[[Any], Callable[[Any], Any]], items: list, repeat: int = 1) -> list[dict[str, float]]:
        return [timed(items, call(advisors[name]), repeat) for name in names]

    print(f"\nexamples/*.yaml ({len(examples)} files, each 200 times)")
    header(engines)
    row("advise (intake + engine + result + checks)", each(lambda a: a.advise, examples, 200))
    row("engine evaluation only", each(lambda a: lambda c: a.engine.evaluate(c.facts, c.absent),
                                       parsed_examples, 200))

    print(f"\n{args.cases:,} generated valid cases")
    header(engines)
    row("advise (intake + engine + result + checks)", each(lambda a: a.advise, cases))
    pairs = [timed_pair(parsed, lambda c, a=advisors[name]: a.engine.evaluate(c.facts, c.absent),
                        lambda c, a=advisors[name]: a.engine.raw.evaluate(c.facts, c.absent)) for name in names]
    row("engine evaluation only", [ordered for ordered, _ in pairs])
    row("  of which the engine alone (raw order)", [raw for _, raw in pairs])
    floor = timed(plain, floor_decide)
    print(f"  {'FLOOR: plain-Python decisions':<{LABEL}}{floor['median'] * 1e6:7.1f} {floor['p99'] * 1e6:7.1f} "
          f"{floor['rate']:7.0f} {floor['cpu'] * 1e6:7.1f}   (not the product; the same for every engine)")
    for name in names:
        agree = sum(floor_decide(f) == set(advisors[name].advise_case(c).codes())
                    for f, c in zip(plain, parsed, strict=True))
        print(f"  floor agrees with {name}'s codes on {agree:,} of {len(parsed):,} cases")

    cached_rows(kb, names, engines, cases, parsed, each, advisors)

    print(f"\nmemory over {args.long:,} cases (one engine each, gc every 1,000)")
    for name in names:
        print(f"  {name:<8} {memory(advisors[name], parsed, args.long)}")
    for advisor in advisors.values():
        advisor.close()

    clonus = shutil.which("clonus", path=str(Path(sys.executable).parent)) or shutil.which("clonus")
    if clonus is None:
        print("\n(clonus command not found: CLI timings skipped)")
        return
    print(f"\nCLI wall time, median of {args.runs} runs ({clonus})")
    commands = [(f"clonus advise examples/01-reference.yaml --engine {name}",
                 [clonus, "advise", "examples/01-reference.yaml", "--engine", name]) for name in names]
    for label, command in (*commands, ("clonus --help", [clonus, "--help"])):
        seconds, cpu = wall(command, args.runs)
        print(f"  {label:<60} {seconds:.3f} s  (CPU {cpu:.3f} s)")


if __name__ == "__main__":
    main()
