"""Run one case at a time through CLIPS (clipspy), defensively.

Guards, each pinned by a test in tests/test_clips_guards.py (field notes: docs/engines.md):
- one environment per engine, configured explicitly (no fact duplication, globals reset, depth strategy)
  rather than by CLIPS's defaults, reset before every case, destroyed by close(); a second case while
  one runs (another thread) raises EngineError;
- every message CLIPS writes (errors, warnings, printout) goes to this engine's router, never to the
  terminal; any message during a build or a case is an EngineError (CLIPS itself goes on: `run` returns
  normally after an error in a rule, and clipspy's own error router passes each message on to stderr);
- values reach CLIPS only as bool, int (64-bit), float, str without NUL, or tuples of str: clipspy hands
  any other type over as an external address (reading one back aborts the interpreter), cuts a string
  at its first NUL and overflows on a larger int;
- values come back by fact type, never by Python truth: clipspy returns CLIPS's FALSE as the str 'FALSE';
- nothing passes through CLIPS's text (it prints floats with 15 digits): values are bound and returned,
  and the source holds exact literals (compiler.py);
- no Python is called from CLIPS during a case: the right-hand sides record firings in a global, read
  once at the end, so no exception can be swallowed inside the engine;
- no engine negation: `false` for boolean derived facts is asserted between strata (decide/evaluation.py).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from typing import Any

from clonus.engine.decide.backend import Evaluation, Firing
from clonus.engine.errors import EngineError, shown

from .compiler import EVALUATE, INT64, CompiledProgram

OUTPUTS = frozenset({"stdout", "stderr", "stdwrn"})  # CLIPS 6.4's logical names for output
# CLIPS settings the engine relies on, made explicit: a fact asserted twice is one fact (two rules
# asserting escalating = true fire what follows once); reset empties ?*trace*; the agenda order is fixed.
SETTINGS = ("(set-fact-duplication FALSE)", "(set-reset-globals TRUE)", "(set-strategy depth)",
            "(set-salience-evaluation when-defined)", "(set-dynamic-constraint-checking FALSE)")


def _router_class():
    import clips

    class Capture(clips.Router):
        """Takes every message CLIPS writes (its three output names) and keeps it for the engine. Only
        these: CLIPS also asks routers for the names it reads from (the text of `eval` or `build`)."""

        __slots__ = ("_env", "_name", "_userdata", "_priority", "messages")

        def __init__(self) -> None:
            super().__init__("clonus-capture", 60)  # above clipspy's error router (40): it never sees one
            self.messages: list[str] = []

        def query(self, name: str) -> bool:
            return name in OUTPUTS

        def write(self, name: str, message: str) -> None:
            self.messages.append(message)

    return Capture


class ClipsEngine:
    """A compiled program built into its own CLIPS environment; evaluate cases one at a time, then close()."""

    def __init__(self, compiled: CompiledProgram):
        import clips

        self._clips = clips
        self._compiled = compiled
        self._plan = compiled.plan
        self._lock = threading.Lock()
        self._closed = False
        self._env: Any = clips.Environment()
        self._router = _router_class()()
        self._env.add_router(self._router)
        # clipspy's own error router would never see a message now, but CLIPS would still ask it about
        # every character it parses (a Python call each: half the build time)
        next(r for r in self._env.routers() if r.name == "python-error-router").deactivate()
        self._booleans = {name for name, f in self._plan.kb.facts.items() if f.type == "boolean"}
        self._inputs = tuple((name, self._plan.kb.facts[name].type) for name, _ in compiled.inputs)
        try:
            for setting in SETTINGS:
                self._guarded(self._env.eval, setting)
            for construct in compiled.constructs:
                self._guarded(self._env.build, construct)
            self._evaluate = self._env.find_function(EVALUATE)
        except EngineError as exc:
            self.close()
            raise EngineError(f"CLIPS refused the compiled KB: {exc}") from exc

    def _guarded(self, call, *args) -> Any:
        """Call into CLIPS; anything it wrote, or a CLIPSError, becomes one EngineError."""
        self._router.messages.clear()
        try:
            result = call(*args)
        except self._clips.CLIPSError as exc:
            raise EngineError(self._said() or str(exc) or "CLIPS failed without a message") from exc
        said = self._said()
        if said:
            raise EngineError(said)
        return result

    def _said(self) -> str:
        text = " ".join("".join(self._router.messages).split())
        self._router.messages.clear()
        return text

    # -- evaluation --------------------------------------------------------------------------------
    def evaluate(self, facts: Mapping[str, Any], absent: frozenset[str] | set[str] = frozenset()) -> Evaluation:
        """Assert one case's input facts, run the rules to quiescence stratum by stratum, read the trace.

        `facts` maps known input facts to normalised values; `absent` names input facts the case lacks.
        """
        if self._closed:
            raise EngineError("this engine is closed")
        if not self._lock.acquire(blocking=False):
            raise EngineError("an engine evaluates one case at a time (one CLIPS environment per engine)")
        try:
            arguments = list(self._arguments(facts, absent))
            self._guarded(self._env.reset)
            try:
                out = self._guarded(self._evaluate, *arguments)
            except EngineError as exc:
                raise EngineError(f"CLIPS failed on this case: {exc}") from exc
            return self._read(out)
        finally:
            self._lock.release()

    def _arguments(self, facts: Mapping[str, Any], absent) -> Iterator[Any]:
        """clonus-evaluate's arguments: for each input fact the rules read, known?, then its value."""
        for name, kind in self._inputs:
            if name in facts and name not in absent:
                yield True
                yield _handed(name, kind, facts[name])
            else:
                yield False
                yield () if kind == "words" else None

    def _read(self, out: tuple) -> Evaluation:
        """The firings and derived facts from clonus-evaluate's multifield (see compiler.py)."""
        targets, position = self._compiled.targets, 1
        end = 1 + out[0]
        firings: list[Firing] = []
        credited: set[str] = set()
        while position < end:
            target = targets[out[position]]
            position += 1
            matched: list[tuple[str, Any]] = []
            for slot in target.slots:
                if slot.kind == "missing":
                    matched.append((slot.fact, None))
                elif slot.kind == "words":
                    count = out[position]
                    matched.append((slot.fact, tuple(str(w) for w in out[position + 1:position + 1 + count])))
                    position += 1 + count
                else:
                    matched.append((slot.fact, self._value(slot.fact, out[position])))
                    position += 1
            # what this firing asserted first, in CLIPS's firing order (asserting a fact again is a no-op)
            asserted = tuple((f, v) for f, v in self._plan.kb.rule(target.rule).asserts if f not in credited)
            credited.update(f for f, _ in asserted)
            firings.append(Firing(target.rule, target.alternative, tuple(matched), asserted))
        derived: dict[str, Any] = {}
        for index in range(end, len(out), 2):
            fact = self._compiled.derived[out[index]]
            value = self._value(fact, out[index + 1])
            if fact in derived and derived[fact] != value:
                makers = sorted({f.rule for f in firings
                                 if any(a == fact for a, _ in self._plan.kb.rule(f.rule).asserts)})
                raise EngineError(f"rules {', '.join(makers)} assert {fact} = {shown(derived[fact])} and "
                                  f"{shown(value)}: derived facts hold one value")
            derived[fact] = value
        return Evaluation(tuple(firings), derived)

    def _value(self, fact: str, value: Any) -> Any:
        """A value CLIPS returned, as clonus holds it: booleans by fact type (FALSE comes back as a str)."""
        if fact in self._booleans:
            if value not in ("TRUE", "FALSE") or not isinstance(value, self._clips.Symbol):
                raise EngineError(f"CLIPS returned {shown(value)} for the boolean fact {fact}")
            return value == "TRUE"
        if isinstance(value, self._clips.Symbol):
            raise EngineError(f"CLIPS returned the symbol {shown(value)} for {fact}")
        return value

    # -- lifecycle ---------------------------------------------------------------------------------
    def close(self) -> None:
        """Destroy the environment: drop the one reference, so clipspy destroys it now (never twice)."""
        if not self._closed:
            self._closed = True
            self._evaluate = None
            self._env = None

    def __enter__(self) -> ClipsEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _handed(fact: str, kind: str, value: Any) -> Any:
    """A case value as it may reach CLIPS, checked against its fact's type (EngineError for anything
    clipspy would mangle: another type, a NUL, an integer beyond 64 bits)."""
    if kind == "words":
        if type(value) not in (tuple, list) or not all(type(w) is str and "\0" not in w for w in value):
            raise EngineError(f"{fact}: {shown(value)} is not a list of words CLIPS can hold")
        return tuple(value)
    if kind == "number" and type(value) in (int, float):
        if type(value) is int and not INT64[0] <= value <= INT64[1]:
            raise EngineError(f"{fact}: {value} is beyond CLIPS's 64-bit integers")
        return value
    if kind == "boolean" and type(value) is bool:
        return value
    if kind in ("enum", "text") and type(value) is str:
        if "\0" in value:
            raise EngineError(f"{fact}: {shown(value)} holds a NUL character, where CLIPS would cut the text")
        return value
    raise EngineError(f"{fact}: {shown(value)} ({type(value).__name__}) is not a {kind} value CLIPS can hold")
