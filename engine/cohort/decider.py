"""One engine's share of a batch: rows in, output rows out, a bad row an error row, never an exception.

An output row holds the case's id and place, `status` (ok or error), the one-line `error` that `clonus
advise` would give, and either the codes, the dose plan and the KB digest, or (`full`) the whole contract
JSON of the answer. The Advisor behind it answers through the exact decision cache (decide/cache.py).
A FHIR row is read as `advise --fhir BUNDLE` reads it, as of the batch's one date, and records that date.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from clonus.engine.cohort.answers import CellAnswers
from clonus.engine.cohort.formats import RawRow, fhir_parts
from clonus.engine.decide.advisor import Advisor
from clonus.engine.decide.cache import CachedEngine, Key
from clonus.engine.errors import ClonusError, EngineError
from clonus.engine.intake.case import parse_case
from clonus.engine.knowledge.load import load_kb

if TYPE_CHECKING:
    from clonus.engine.intake.fhir.merge import Merged


@dataclass(frozen=True)
class Settings:
    """What every worker of one batch is built from (plain values: they travel to other processes)."""

    kb_dir: str | None = None
    profile: str | None = None
    engine: str | None = None
    include_draft: bool = False
    cache: bool = True
    verify_cache: float = 0.0
    full: bool = False
    as_of: str | None = None  # YYYY-MM-DD the FHIR rows are read as of; None: today, as each decider starts


@dataclass
class Tally:
    """What a share of the batch came to: rows, error rows, cache hits and misses, cache mismatches, and
    how many rows were FHIR."""

    rows: int = 0
    errors: int = 0
    hits: int = 0
    misses: int = 0
    verified: int = 0
    mismatches: list[str] | None = None
    fhir: int = 0

    def add(self, other: Tally) -> None:
        self.rows += other.rows
        self.errors += other.errors
        self.hits += other.hits
        self.misses += other.misses
        self.verified += other.verified
        self.fhir += other.fhir
        if other.mismatches:
            self.mismatches = (self.mismatches or []) + other.mismatches


class RowDecider:
    """A KB compiled once into one engine; decides rows one at a time (a worker holds one)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.kb = load_kb(settings.kb_dir, settings.profile)
        self.advisor = self._advisor()
        self.answers = CellAnswers(self.advisor, settings.verify_cache)
        self._shared = 0  # the cache's cells up to here were shared already (or taught by other workers)
        self.as_of = date.fromisoformat(settings.as_of) if settings.as_of else date.today()

    def _advisor(self) -> Advisor:
        s = self.settings
        # --full: the Advisor's cache checks its own hits; otherwise CellAnswers checks whole answers
        return Advisor(self.kb, include_draft=s.include_draft, engine=s.engine, cache=s.cache,
                       verify_cache=s.verify_cache if s.full else 0.0)

    def decide(self, rows: Iterable[RawRow]) -> tuple[list[dict], Tally]:
        """The output rows of `rows`, in order, and their tally."""
        before = self._cache_counts()
        rows = list(rows)
        out = [self.row(raw) for raw in rows]
        after = self._cache_counts()
        tally = Tally(rows=len(out), errors=sum(1 for r in out if r["status"] == "error"),
                      hits=after[0] - before[0], misses=after[1] - before[1], verified=after[2] - before[2],
                      fhir=sum(1 for raw in rows if raw.fhir))
        cache = self.advisor.decisions
        if isinstance(cache, CachedEngine) and len(cache.stats.mismatches) > before[3]:
            tally.mismatches = cache.stats.mismatches[before[3]:]
        return out, tally

    def row(self, raw: RawRow) -> dict[str, Any]:
        """One output row; an unusable case, a refused answer or an engine failure is an error row."""
        if raw.data is None:
            return error_row(raw, raw.error or "unreadable row", self.kb.digest, self.settings.full)
        try:
            merged = self._fhir(raw.data) if raw.fhir else None
            if not self.settings.full:
                codes, plan = self.answers.answer(raw.data) if merged is None else self.answers.answer_case(merged.case)
                out = {"id": raw.id, "row": raw.index, "status": "ok", "error": None, "codes": list(codes),
                       "dose_plan": plan, "kb_digest": self.kb.digest}
                return out if merged is None else {**out, "as_of": merged.as_of.isoformat()}
            result = self.advisor.advise(raw.data) if merged is None else \
                self.advisor.advise_case(merged.case).with_intake(*merged.intake())
        except EngineError as exc:
            self._renew()
            return error_row(raw, str(exc), self.kb.digest, self.settings.full)
        except ClonusError as exc:
            return error_row(raw, str(exc), self.kb.digest, self.settings.full)
        return {"id": raw.id, "row": raw.index, "status": "ok", "error": None, "result": result.to_json()}

    def learned(self) -> list[tuple]:
        """The cells this engine evaluated since the last call, as (key, firings) pairs for the other
        workers (each is what the cache stores: no patient's values, only the rules that fired)."""
        cache = self.advisor.decisions
        if not isinstance(cache, CachedEngine) or len(cache.cells) == self._shared:
            return []
        new = list(itertools.islice(cache.cells.items(), self._shared, None))
        self._shared = len(cache.cells)
        return new

    def first_of_cells(self, rows: Iterable[RawRow]) -> list[tuple[Key, RawRow]]:
        """The first row of each cell among `rows`, in order, without evaluating any (a Dask batch's first
        phase). A row that cannot be read or is not a valid case has no cell: it is answered later, as the
        error row it is. Without the cache, there are no cells."""
        cache = self.advisor.decisions
        if not isinstance(cache, CachedEngine):
            return []
        first: dict[Key, RawRow] = {}
        for raw in rows:
            if raw.data is None:
                continue
            try:
                case = self._fhir(raw.data).case if raw.fhir else parse_case(self.kb, raw.data, self.answers.memo)
            except ClonusError:
                continue
            first.setdefault(cache.keys.key(case.facts, case.absent), raw)
        return list(first.items())

    def evaluate_cells(self, firsts: Iterable[tuple[Key, RawRow]]) -> tuple[list[tuple], Tally]:
        """Each cell evaluated by the engine through its first row (a Dask batch's second phase): the
        (key, firings) pairs, as learned() gives them, and the tally of those evaluations."""
        firsts = list(firsts)
        _, tally = self.decide(raw for _, raw in firsts)
        cache = self.advisor.decisions
        if not isinstance(cache, CachedEngine):
            return [], tally
        return [(key, cache.cells[key]) for key, _ in firsts if key in cache.cells], tally

    def teach(self, cells: Iterable[tuple]) -> None:
        """Cells other workers evaluated: a case of one is a cache hit here, not a second evaluation."""
        cache = self.advisor.decisions
        if isinstance(cache, CachedEngine):
            caught_up = self._shared == len(cache.cells)  # else cells of its own wait to be shared
            for key, cell in cells:
                cache.learn(key, cell)
            if caught_up:
                self._shared = len(cache.cells)

    def _fhir(self, data: dict) -> Merged:
        """A FHIR row's case: its Bundle with its case fields over it, as `advise CASE --fhir BUNDLE` reads."""
        from clonus.engine.intake.fhir.merge import case_over_bundle

        bundle, fields = fhir_parts(data)
        return case_over_bundle(self.kb, bundle, fields, self.as_of)

    def _renew(self) -> None:
        """A fresh engine after one failed mid-case (it is not trusted with the next case); the cache's
        cells and counts carry over, as they do not depend on the engine object."""
        old = self.advisor.decisions
        self.advisor.close()
        self.advisor = self._advisor()
        new = self.advisor.decisions
        if isinstance(old, CachedEngine) and isinstance(new, CachedEngine):
            new.cells, new.stats = old.cells, old.stats
        templates, plans, memo = self.answers.templates, self.answers.plans, self.answers.memo
        self.answers = CellAnswers(self.advisor, self.settings.verify_cache)
        self.answers.templates, self.answers.plans, self.answers.memo = templates, plans, memo

    def _cache_counts(self) -> tuple[int, int, int, int]:
        cache = self.advisor.decisions
        if not isinstance(cache, CachedEngine):
            return 0, 0, 0, 0
        return cache.stats.hits, cache.stats.misses, cache.stats.verified, len(cache.stats.mismatches)

    def close(self) -> None:
        self.advisor.close()


def error_row(raw: RawRow, message: str, digest: str, full: bool) -> dict[str, Any]:
    """The row for a case that got no answer: the one line `clonus advise` would print."""
    if full:
        return {"id": raw.id, "row": raw.index, "status": "error", "error": message, "result": None}
    return {"id": raw.id, "row": raw.index, "status": "error", "error": message, "codes": [], "dose_plan": None,
            "kb_digest": digest}
