"""Run one case at a time through durable_rules, defensively.

Guards, each pinned by a test in tests/test_runtime_guards.py:
- one live state per ruleset, deleted after each case (state ids are found by a 32-bit hash: two live
  states can collide and join facts of two patients); re-entrant use raises EngineError;
- a unique ruleset per engine, freed by close() (rulesets are never freed otherwise);
- a Host without its two never-ending timer threads (they race the caller and leak);
- facts are asserted straight into the C engine, then the agenda is run synchronously here, action by
  action, so nothing runs later on a timer thread (durable's own action loop also swallows exceptions,
  stamps times and re-serialises the state after every action); a sentinel fact every case carries makes
  some action always run, which avoids the segfault on deleting an idle state;
- a fact that passes no pattern (an absent egfr, a derived value no rule tests) is ordinary, not an error;
- every object handed to the engine stays referenced until its state is deleted (use-after-free);
- a payload durable's argument parsing would refuse (a lone surrogate is not UTF-8) is refused here,
  before durable sees it; a failure once durable holds a state ends with that state made non-idle (a
  rescue sentinel, so that an action runs) and deleted: no case ever closes the engine (closing is the
  last resort when even that fails);
- exceptions in actions (durable would swallow them into state['exception']) are raised as EngineError;
- no engine negation: `false` for boolean derived facts is asserted between strata (see decide/evaluation.py);
- the agenda order is durable's own and not breadth-first (in example 02 a rule on input facts and one
  derived fact fires after rules two derivations further on), so the Advisor reads firings in the
  canonical order of decide/order.py, which CLIPS gives too; check-engines found no other difference
  over the examples, the rule tests, the lint search's cases and 300,000 generated cases.
"""

from __future__ import annotations

import copy
import itertools
import json
import threading
from collections.abc import Mapping
from typing import Any

from clonus.engine.decide.backend import Evaluation, Firing
from clonus.engine.decide.evaluation import EvaluationPlan
from clonus.engine.errors import EngineError, shown

from .compiler import SENTINEL_FACT, SENTINEL_RULE, CompiledRuleset, word_key

_ENGINE_IDS = itertools.count(1)
RESCUE_ID = "$rescue"  # the id of the second sentinel fact that makes a failed case's state non-idle


def _encode(doc: Any) -> str:
    """A payload for the C engine, keys sorted (orjson: a few microseconds, where json took tens). Text
    orjson cannot write as UTF-8 (a lone surrogate) is an EngineError before durable holds any state."""
    import orjson

    try:
        return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS).decode()
    except orjson.JSONEncodeError as exc:
        raise EngineError(f"a fact's text is not valid Unicode ({exc}); nothing was asserted") from exc


class _Run:
    """What one evaluation collects from its actions."""

    def __init__(self, sid: str) -> None:
        self.sid = sid
        self.firings: list[Firing] = []
        self.derived: dict[str, Any] = {}
        self.errors: list[str] = []
        self.keep_alive: list[Any] = []
        self.sentinel_ran = False
        self.inputs: dict[str, Any] = {}  # each input fact asserted: its value, None when the case lacks it
        self.touched = False  # durable was handed something for this state (it may exist)


def _quiet_host_class():
    from durable.engine import Host

    class QuietHost(Host):
        """A Host whose actions are looked up by name and that starts no timer threads."""

        def __init__(self, actions: Mapping[str, Any]):
            self._clonus_actions = actions
            super().__init__()

        def _run(self) -> None:  # the timer/dispatch loop is never started
            return None

        def get_action(self, action_name: str):
            return self._clonus_actions[action_name]

    return QuietHost


class DurableEngine:
    """A compiled ruleset registered in durable_rules; evaluate cases one at a time, then close()."""

    def __init__(self, compiled: CompiledRuleset):
        import durable_rules_engine

        self._dre = durable_rules_engine
        self._compiled = compiled
        self._plan: EvaluationPlan = compiled.plan
        self._lock = threading.Lock()
        self._run: _Run | None = None
        self._sids = itertools.count(1)
        self._name = f"clonus_{next(_ENGINE_IDS)}_{id(self):x}"
        self._read_derived = {f for f in self._plan.read_facts if self._plan.kb.facts[f].origin == "derived"}
        self._derived_facts = frozenset(n for n, f in self._plan.kb.facts.items() if f.origin == "derived")
        # the input facts the rules read, in a fixed order, with the words each words fact is tested for
        self._read_inputs = tuple(
            (name, tuple(word_key(w) for w in self._plan.words_tested.get(name, ())),
             self._plan.words_tested.get(name, ()))
            for name in sorted(self._plan.read_facts) if self._plan.kb.facts[name].origin == "input")
        actions = {name: self._action(name) for name in compiled.definition}
        self._actions = actions
        definition = copy.deepcopy(dict(compiled.definition))  # registration mutates the dict it is given
        for name in definition:
            definition[name]["run"] = name
        try:
            host = _quiet_host_class()(actions)
            host.register_rulesets({self._name: definition})
        except Exception as exc:  # durable raises bare Exception / its own error type
            raise EngineError(f"durable_rules refused the compiled KB: {exc}") from exc
        self._host = host
        self._ruleset = host.get_ruleset(self._name)
        self._closed = False

    # -- actions -----------------------------------------------------------------------------------
    def _current(self) -> _Run:
        """The evaluation in progress: actions run only inside evaluate(), which sets it."""
        if self._run is None:
            raise EngineError("a rule action ran outside evaluate()")
        return self._run

    def _action(self, durable_name: str):
        if durable_name == SENTINEL_RULE:
            def sentinel(c) -> None:
                self._current().sentinel_ran = True
            return sentinel
        rule_id, alternative = self._compiled.targets[durable_name]
        rule = self._plan.kb.rule(rule_id)
        derived_facts = self._derived_facts
        # the facts this alternative's patterns match, one document each (its id is the fact's name, so a
        # state holds one per fact): their values are those this evaluation asserted, read back from it
        # rather than decoded from durable's message
        reads = tuple(sorted({atom.fact for atom in rule.alternatives[alternative]}))

        def run(c) -> None:
            state = self._current()
            try:
                matched = tuple((fact, state.derived.get(fact, False) if fact in derived_facts
                                 else state.inputs.get(fact)) for fact in reads)
                asserted = []
                for fact, value in rule.asserts:
                    if fact in state.derived:
                        if state.derived[fact] != value:
                            raise EngineError(f"rule {rule_id} asserts {fact} = {shown(value)} but it is already "
                                              f"{shown(state.derived[fact])}: derived facts hold one value")
                        continue
                    state.derived[fact] = value
                    asserted.append((fact, value))
                    if fact in self._read_derived:
                        self._assert_derived(state, {"sid": state.sid, "id": fact, "fact": fact,
                                                     "known": True, "v": value})
                state.firings.append(Firing(rule_id, alternative, matched, tuple(asserted)))
            except Exception as exc:  # recorded, then raised by evaluate(): durable would swallow it
                state.errors.append(f"{rule_id}: {type(exc).__name__}: {getattr(exc, 'message', exc)}")

        return run

    # -- evaluation --------------------------------------------------------------------------------
    def evaluate(self, facts: Mapping[str, Any], absent: frozenset[str] | set[str] = frozenset()) -> Evaluation:
        """Assert one case's input facts, run the rules to quiescence stratum by stratum, and clean up.

        `facts` maps known input facts to normalised values; `absent` names input facts the case lacks.
        """
        if self._closed:
            raise EngineError("this engine is closed")
        if not self._lock.acquire(blocking=False):
            raise EngineError("an engine evaluates one case at a time (durable state ids can collide)")
        try:
            run = self._run = _Run(str(next(self._sids)))
            try:
                run.inputs = {name: tuple(facts[name]) if isinstance(facts[name], list) else facts[name]
                              for name, _, _ in self._read_inputs if name in facts and name not in absent}
                self._assert_batch(run, self._input_documents(run.sid, facts, absent))
                for stratum_facts in self._plan.completions:
                    pending = [f for f in stratum_facts if f not in run.derived]
                    for fact in pending:
                        run.derived[fact] = False
                    if pending:
                        self._assert_batch(run, [
                            {"sid": run.sid, "id": f, "fact": f, "known": True, "v": False} for f in pending
                        ])
            except BaseException:
                self._abandon(run)
                raise
            self._ruleset.delete_state(run.sid)
            self._run = None
            if run.errors:
                raise EngineError("; ".join(run.errors))
            derived = {k: v for k, v in run.derived.items()}
            return Evaluation(tuple(run.firings), derived)
        finally:
            self._lock.release()

    def _input_documents(self, sid: str, facts: Mapping[str, Any], absent) -> list[dict]:
        docs: list[dict] = [{"sid": sid, "id": SENTINEL_FACT, "fact": SENTINEL_FACT}]
        for name, keys, words in self._read_inputs:
            doc: dict[str, Any] = {"sid": sid, "id": name, "fact": name}
            if name in facts and name not in absent:
                value = facts[name]
                doc["known"] = True
                doc["v"] = list(value) if isinstance(value, tuple) else value
                for key, word in zip(keys, words, strict=True):
                    doc[key] = word in value
            else:
                doc["known"] = False
            docs.append(doc)
        return docs

    def _assert_batch(self, run: _Run, docs: list[dict]) -> None:
        payload = _checked(_encode(docs))
        run.keep_alive.extend((docs, payload))
        run.touched = True
        try:
            code, handle = self._dre.assert_facts(self._ruleset._handle, payload)
        except Exception as exc:
            raise EngineError(f"durable_rules rejected the case's facts: {exc}") from exc
        # 0: handled; 1: some fact passed no pattern (ordinary: e.g. an absent egfr); 3: queued.
        # Host.assert_facts turns 1 into an exception and skips the agenda; here the agenda always runs.
        if code not in (0, 1, 3):
            raise EngineError(f"durable_rules returned code {code} asserting {payload[:200]}")
        self._run_agenda(run, handle)

    def _assert_derived(self, run: _Run, doc: dict) -> None:
        """Assert a derived fact from inside an action; its firings join the agenda being run."""
        payload = _encode(doc)
        run.keep_alive.extend((doc, payload))
        code, _ = self._dre.assert_fact(self._ruleset._handle, payload)
        # 1 (no pattern tests this value, e.g. dose_band = above_max when rules read only below_max) is
        # ordinary; durable's Closure.assert_fact would raise MessageNotHandledException for it.
        if code not in (0, 1, 3):
            raise EngineError(f"durable_rules returned code {code} asserting {payload[:200]}")

    def _run_agenda(self, run: _Run, state_handle: int) -> None:
        """Run every pending action of this state now, in this thread, until the agenda is empty."""
        handle = self._ruleset._handle
        try:
            result = self._dre.start_action_for_state(handle, state_handle)
        except Exception as exc:
            raise EngineError(f"durable_rules failed to start the agenda: {exc}") from exc
        while result:
            run.keep_alive.append(result)
            name = _action_name(result[1] if isinstance(result, tuple) else result)
            try:
                self._actions[name](None)
            except BaseException as exc:
                self._dre.abandon_action(handle, state_handle)
                if isinstance(exc, Exception):
                    raise EngineError(f"action {name} failed: {type(exc).__name__}: {exc}") from exc
                raise
            try:
                result = self._dre.complete_and_start_action(handle, state_handle)
            except Exception as exc:
                raise EngineError(f"durable_rules failed after action {name}: {exc}") from exc

    def _abandon(self, run: _Run) -> None:
        """After a failure mid-case, leave no state behind and keep the engine open. A state durable never
        saw needs nothing. Deleting a state on which no action ran segfaults, so such a state is first
        given a rescue sentinel, whose action runs, and then deleted. Only if that fails too is the whole
        ruleset freed (closed), so that no half-evaluated state can leak into a later case."""
        try:
            if run.touched and not run.sentinel_ran:
                self._rescue(run)
        except Exception:  # noqa: BLE001 - durable is past help: the ruleset is closed below
            pass
        finally:
            self._run = None
        if not run.touched:
            return
        if run.sentinel_ran:
            self._ruleset.delete_state(run.sid)
        else:
            self.close()

    def _rescue(self, run: _Run) -> None:
        """Make a state that may be idle non-idle: a second sentinel fact, and its agenda run."""
        doc = {"sid": run.sid, "id": RESCUE_ID, "fact": SENTINEL_FACT}
        payload = _encode(doc)
        run.keep_alive.extend((doc, payload))
        _, handle = self._dre.assert_fact(self._ruleset._handle, payload)
        self._run_agenda(run, handle)

    # -- lifecycle ---------------------------------------------------------------------------------
    def close(self) -> None:
        """Free the C-side ruleset (durable never frees it otherwise)."""
        if not self._closed:
            self._closed = True
            self._dre.delete_ruleset(self._ruleset._handle)

    def __enter__(self) -> DurableEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _action_name(message: str) -> str:
    """The action a message of durable's agenda runs: its first key, `{"rule.id#0": {...}}` (names hold no
    quote or backslash); anything else is decoded in full."""
    if message.startswith('{"'):
        end = message.find('"', 2)
        if end > 2 and "\\" not in message[2:end]:
            return message[2:end]
    return next(iter(json.loads(message)))


def _checked(payload: str) -> str:
    """The payload, if durable's argument parsing (UTF-8, no NUL) can take it; else EngineError, raised
    before durable holds any state for the case (intake refuses such text first: this is the guard)."""
    try:
        payload.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise EngineError(f"a fact's text is not valid Unicode ({exc.reason} at {exc.start}); nothing was "
                          "asserted") from exc
    if "\0" in payload:  # json escapes NUL inside strings; a raw one would end the C string early
        raise EngineError("a fact holds a NUL character; nothing was asserted")
    return payload
