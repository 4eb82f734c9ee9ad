"""The teaching flowchart (the `flow` view), derived from the rules, never drawn by hand.

How rules become a flowchart:
- A *state* is a boolean derived fact that rules assert only as true and read as true (`escalating`). It
  is a box: the rules that assert it lead into it, and the rules that read it start from it. A rule reading
  several states starts from the deepest one that the others do not already imply; rules reading none
  start from Start. A rule may read a state as false only where that ends its own path (`not escalating`
  on a precaution's edge): a fact read as false on the way into a state (`not escalation_blocked` before
  the increase) is a decision, and so is a fact no rule starts from (it is only ever asked beside a
  deeper state).
- Every other condition asks a *question* about a fact. Where the rules starting from one state test
  that fact with outcomes that exclude each other (`x == a` and `x == b`, or `x` and `not x`), it is a
  decision: a diamond with one branch per outcome. Where they test it one way only (respiratory
  compromise), it is a precaution: its condition labels the edge to the recommendation ("if ...").
- Each alternative of a rule's condition is one path: from its state through its decisions (those
  teaching.yaml lists first, in its order, then facts tested by more of the paths from that state), to
  the rule's recommendations and on to the states it asserts. Paths share their beginnings, as in a
  decision tree. An alternative that can never hold (`drug == x` and `missing drug`, as an `any:`
  inside an `all:` can expand to) is not drawn.
- A rule that only asserts a fact some question asks (dose_band) is not a box of its own: its
  conditions word that question's branches ("<value> (<the conditions that assert it>)").

Every node and edge lists in `paths` the rule alternatives (`rule#n`) drawn through it: the case overlay
lights exactly the paths that fired.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from clonus.engine.graph.nodes import graph_attrs, section_index
from clonus.engine.knowledge.boundaries import contradiction
from clonus.engine.knowledge.conditions import Atom
from clonus.engine.knowledge.model import Kb, Rule
from clonus.engine.knowledge.wording import branch_text, phrase, values_of, words

if TYPE_CHECKING:
    import networkx as nx

START = "start"
_SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}


@dataclass
class _Point:
    """A place in a decision tree: the questions asked next and the paths that end here."""

    keys: list[str] = field(default_factory=list)
    questions: dict[str, _Question] = field(default_factory=dict)
    leaves: list[tuple[str, tuple[tuple[Atom, ...], ...], str]] = field(default_factory=list)


@dataclass
class _Question:
    fact: str
    keys: list[str] = field(default_factory=list)
    branches: dict[str, tuple[tuple[Atom, ...], _Point]] = field(default_factory=dict)


@dataclass(frozen=True)
class _Placed:
    """One rule alternative placed in the chart: where it starts and the fact groups it tests."""

    rule: Rule
    key: str
    anchor: str
    groups: tuple[tuple[str, tuple[Atom, ...]], ...]


class Shape:
    """What the flowchart is made of, read off the whole KB: states, their depth and what implies what."""

    def __init__(self, kb: Kb, states: frozenset[str] | None = None):
        self.kb = kb
        self.index = {name: i for i, name in enumerate(kb.facts)}
        self.states = _candidate_states(kb) if states is None else states
        self._implied: dict[str, frozenset[str]] = {}
        self._depth: dict[str, int] = {}

    @classmethod
    def of(cls, kb: Kb) -> Shape:
        """The shape of a KB: its candidate states, less those that turn out to be questions (see
        _settled), until none does."""
        shape = cls(kb)
        while (settled := shape._settled()) != shape.states:
            shape = cls(kb, settled)
        return shape

    def _settled(self) -> frozenset[str]:
        """The states that stay states: none read as false on the way into a state (`not blocked` before
        the increase makes `blocked` a decision, not a place), and none that no rule starts from (a fact
        only ever tested beside a deeper state is a question asked there)."""
        into = {a.fact for rule in self.kb.rules if any(f in self.states for f, _ in rule.asserts)
                for alt in rule.alternatives for a in alt if a.fact in self.states and a.value is False}
        anchors = {self.place(rule, i).anchor for rule in self.kb.rules
                   for i, alt in enumerate(rule.alternatives) if possible(self.kb, alt)}
        return frozenset(s for s in self.states if s not in into and s in anchors)

    def holds(self, atom: Atom) -> bool:
        """The atom is a state that holds (`escalating`), not one that does not (`not escalating`)."""
        return atom.fact in self.states and atom.value is True

    def asserting(self, fact: str):
        return [(rule, alt) for rule in self.kb.rules if fact in dict(rule.asserts) for alt in rule.alternatives]

    def implied(self, state: str) -> frozenset[str]:
        """States that hold whenever `state` holds: read by every alternative of every rule asserting it."""
        if state not in self._implied:
            sets = [frozenset().union(*({a.fact} | self.implied(a.fact) for a in alt if self.holds(a)))
                    for _, alt in self.asserting(state)]
            self._implied[state] = frozenset.intersection(*sets) if sets else frozenset()
        return self._implied[state]

    def implied_atoms(self, anchor: str) -> frozenset[Atom]:
        """Conditions that hold wherever `anchor` holds: in every alternative of every rule asserting it."""
        if anchor == START:
            return frozenset()
        sets = [frozenset(alt).union(*(self.implied_atoms(a.fact) for a in alt if self.holds(a)))
                for _, alt in self.asserting(anchor)]
        return frozenset.intersection(*sets) if sets else frozenset()

    def depth(self, state: str) -> int:
        if state not in self._depth:
            self._depth[state] = 1 + max([self.depth(a.fact) for _, alt in self.asserting(state)
                                          for a in alt if self.holds(a)] or [0])
        return self._depth[state]

    def place(self, rule: Rule, index: int) -> _Placed:
        alt = rule.alternatives[index]
        held = [a.fact for a in alt if self.holds(a)]
        open_ = [s for s in dict.fromkeys(held) if not any(s in self.implied(t) for t in held if t != s)]
        anchor = max(open_, key=lambda s: (self.depth(s), -self.index[s])) if open_ else START
        groups: dict[str, list[Atom]] = {}
        for atom in alt:
            if not self.holds(atom) or (atom.fact in open_ and atom.fact != anchor):
                groups.setdefault(atom.fact, []).append(atom)
        return _Placed(rule, f"{rule.id}#{index}", anchor, tuple((f, tuple(a)) for f, a in groups.items()))


def _candidate_states(kb: Kb) -> frozenset[str]:
    """Boolean derived facts that rules assert only as true and read as true somewhere."""
    atoms = [a for rule in kb.rules for alt in rule.alternatives for a in alt]
    asserted = [(f, v) for rule in kb.rules for f, v in rule.asserts]
    return frozenset(
        f for f, fact in kb.facts.items()
        if fact.origin == "derived" and fact.type == "boolean" and any(n == f for n, _ in asserted)
        and all(v is True for n, v in asserted if n == f)
        and any(a.fact == f and a.op == "==" and a.value is True for a in atoms)
    )


def build_flow(kb: Kb) -> nx.DiGraph:
    """The teaching flowchart of a KB (see the module docstring for how it is derived)."""
    import networkx as nx

    shape = Shape.of(kb)
    placed = place_all(shape)
    trees = grow_trees(shape, placed, decisions(kb, placed))
    g: nx.DiGraph[str] = nx.DiGraph()
    g.graph.update(graph_attrs(kb, "flow"))
    Emitter(kb, shape, g).emit(trees)
    return g


def place_all(shape: Shape) -> list[_Placed]:
    """Every rule alternative that can hold, placed at its state with the fact groups it tests."""
    return [shape.place(rule, i) for rule in shape.kb.rules for i, alt in enumerate(rule.alternatives)
            if possible(shape.kb, alt)]


def grow_trees(shape: Shape, placed: list[_Placed], deciding: dict[str, set[str]]) -> dict[str, _Point]:
    """One decision tree per state (and Start): `deciding` names, per state, the facts asked as decisions.
    Along a path, the questions teaching.yaml names come first, in its order (the main line of the
    decision: relief, then the dose band), then those tested by more of the paths from that state."""
    trees: dict[str, _Point] = {START: _Point()}
    for state in sorted(shape.states, key=lambda s: (shape.depth(s), shape.index[s])):
        trees[state] = _Point()
    first = {f: i for i, f in enumerate(shape.kb.teaching.questions or ())}
    tested: dict[tuple[str, str], int] = {}
    for item in placed:
        for fact, _ in item.groups:
            tested[item.anchor, fact] = tested.get((item.anchor, fact), 0) + 1
    for item in placed:
        targets = _targets(shape, item.rule)
        if targets:
            order = {f: (first.get(f, len(first)), -tested[item.anchor, f], shape.index[f]) for f, _ in item.groups}
            _grow(trees[item.anchor], item, targets, deciding.get(item.anchor, set()), order)
    return trees


def _targets(shape: Shape, rule: Rule) -> tuple[str, ...]:
    """Where a rule's paths end: its recommendations' box, or else the states it asserts; none if it only
    words a question."""
    if rule.recommends:
        return (f"outcome:{rule.id}",)
    return tuple(f"state:{f}" for f, _ in rule.asserts if f in shape.states)


def decisions(kb: Kb, placed: list[_Placed]) -> dict[str, set[str]]:
    """Per state: the facts its rules test with outcomes that exclude each other (decisions, not precautions)."""
    seen: dict[str, dict[str, list[tuple[Atom, ...]]]] = {}
    for item in placed:
        for fact, atoms in item.groups:
            seen.setdefault(item.anchor, {}).setdefault(fact, []).append(atoms)
    out: dict[str, set[str]] = {START: set()}
    for anchor, by_fact in seen.items():
        out[anchor] = {fact for fact, groups in by_fact.items()
                       if any(_excludes(kb, a, b)
                              for g1 in groups for g2 in groups for a in g1 for b in g2)}
    return out


def _grow(root: _Point, item: _Placed, targets: tuple[str, ...], deciding: set[str],
          order: dict[str, tuple[int, int, int]]) -> None:
    decisions = sorted((g for g in item.groups if g[0] in deciding), key=lambda g: order[g[0]])
    conditions = tuple(atoms for fact, atoms in item.groups if fact not in deciding)
    point = root
    point.keys.append(item.key)
    for fact, atoms in decisions:
        question = point.questions.setdefault(fact, _Question(fact))
        question.keys.append(item.key)
        branch = " and ".join(str(a) for a in atoms)
        point = question.branches.setdefault(branch, (atoms, _Point()))[1]
        point.keys.append(item.key)
    for target in targets:
        point.leaves.append((target, conditions, item.key))


class Emitter:
    """Turns the decision trees into nodes and edges, in a fixed order (so the output is deterministic)."""

    def __init__(self, kb: Kb, shape: Shape, g: nx.DiGraph):
        self.kb, self.shape, self.g = kb, shape, g
        self.counters: dict[str, int] = {}

    def emit(self, trees: dict[str, _Point]) -> None:
        self.g.add_node(START, kind="start", label="Start: the case", refs=(START,), paths=tuple(trees[START].keys),
                        text="A case: the patient, the current medication and the response.")
        self.trees = trees
        for anchor, tree in trees.items():
            self._point(anchor, START if anchor == START else self._target(f"state:{anchor}"), tree, None)
        for rule in self.kb.rules:
            if rule.recommends:
                self._asserts(rule)

    def _asserts(self, rule: Rule) -> None:
        """The edges from a rule's box to the states it asserts."""
        keys = tuple(f"{rule.id}#{i}" for i in range(len(rule.alternatives)))
        for fact, _ in rule.asserts:
            if fact in self.shape.states:
                self._edge(self._target(f"outcome:{rule.id}"), self._target(f"state:{fact}"),
                           relation="asserts", label="", condition="", rules=(rule.id,), paths=keys)

    def _target(self, node: str) -> str:
        """Declare a state or outcome node the first time a path reaches it (declaration order guides layout)."""
        if node not in self.g:
            kind, name = node.split(":", 1)
            if kind == "state":
                self._state_node(name, self.trees[name])
            else:
                self._outcome_node(self.kb.rule(name))
        return node

    def _state_node(self, state: str, tree: _Point) -> None:
        fact = self.kb.facts[state]
        rules = tuple(dict.fromkeys(r.id for r, _ in self.shape.asserting(state)))
        keys = [f"{r.id}#{i}" for r in self.kb.rules if r.id in rules for i in range(len(r.alternatives))]
        self.g.add_node(f"state:{state}", kind="state", label=fact.label, refs=(state,), title=fact.label,
                        text=fact.description, rules=rules, paths=tuple(dict.fromkeys(keys + tree.keys)))

    def _outcome_node(self, rule: Rule) -> None:
        codes = [self.kb.codes[r.code] for r in rule.recommends]
        sets = tuple(self._sets(fact, value) for fact, value in rule.asserts if fact not in self.shape.states)
        self.g.add_node(
            f"outcome:{rule.id}", kind="outcome", label=rule.title, refs=(rule.id, *(c.code for c in codes)),
            title=rule.title, text=rule.rationale, status=rule.status, sources=rule.sources, rules=(rule.id,),
            items=tuple((c.code, c.title, c.category, c.severity) for c in codes), sets=sets,
            categories=tuple(dict.fromkeys(c.category for c in codes)),
            section=self.kb.teaching.sections[section_index(self.kb, rule)].title,
            severity=max((c.severity for c in codes), key=_SEVERITY_RANK.__getitem__),
            paths=tuple(f"{rule.id}#{i}" for i in range(len(rule.alternatives))),
        )

    def _sets(self, fact: str, value) -> str:
        label = self.kb.facts[fact].label
        return label if value is True else f"{label}: {words(value)}"

    def _new_id(self, prefix: str, anchor: str) -> str:
        self.counters[anchor] = self.counters.get(anchor, 0) + 1
        return f"{prefix}:{anchor}:{self.counters[anchor]}"

    def _point(self, anchor: str, src: str, point: _Point, branch: dict | None) -> None:
        """Attach what hangs at `point` below node `src`; `branch` is the edge wording from a decision."""
        leaves = self._merged_leaves(point)
        precaution = any("" not in phrases for phrases, _, _ in leaves.values())
        if branch is not None and (len(point.questions) + len(leaves) > 1 or precaution):
            junction = self._new_id("j", anchor)
            self.g.add_node(junction, kind="junction", label="", refs=(), paths=tuple(point.keys))
            self._edge(src, junction, **branch)
            src, branch = junction, None
        for question in point.questions.values():
            node = self._question_node(anchor, question)
            self._edge(src, node, **(branch or _plain(question.keys)))
            for atoms, sub in question.branches.values():
                self._point(anchor, node, sub, self._branch(anchor, question, atoms, sub))
        for target, (phrases, kb_texts, keys) in leaves.items():
            edge = dict(branch or _plain(keys))
            if "" not in phrases:
                edge.update(relation="if", label=("if " + " or ".join(phrases)) if phrases else "",
                            condition=" or ".join(kb_texts))
            self._edge(src, self._target(target), **edge)

    def _merged_leaves(self, point: _Point) -> dict[str, tuple[list[str], list[str], list[str]]]:
        """Paths ending at the same target from one point: their precaution wordings, conditions and keys."""
        leaves: dict[str, tuple[list[str], list[str], list[str]]] = {}
        for target, conditions, key in point.leaves:
            atoms = [a for group in conditions for a in group]
            wording = " and ".join(phrase(self.kb.facts[a.fact], a) for a in atoms)
            phrases, kb_texts, keys = leaves.setdefault(target, ([], [], []))
            if wording not in phrases:
                phrases.append(wording)
                kb_texts.append(" and ".join(str(a) for a in atoms))
            keys.append(key)
        return leaves

    def _question_node(self, anchor: str, question: _Question) -> str:
        fact = self.kb.facts[question.fact]
        node = self._new_id("q", anchor)
        defining = self._defining(question.fact, anchor)
        note = ""
        if fact.origin == "derived" and fact.type == "boolean" and defining.get(True):
            note = "set by: " + "; ".join(defining[True])
        self.g.add_node(node, kind="question", label=f"{fact.label}?", refs=(question.fact,), fact=question.fact,
                        title=fact.label, text=fact.description, note=note,
                        rules=self._defining_rules(question.fact), paths=tuple(question.keys))
        return node

    def _branch(self, anchor: str, question: _Question, atoms: tuple[Atom, ...], point: _Point) -> dict:
        fact = self.kb.facts[question.fact]
        label = " and ".join(branch_text(fact, a) for a in atoms)
        if fact.origin == "derived" and fact.type != "boolean":
            defining = self._defining(question.fact, anchor)
            values = [v for a in atoms if a.op in ("==", "in") for v in values_of(a)]
            meaning = [d for v in values for d in defining.get(v, ())]
            label += f" ({'; '.join(meaning)})" if meaning else ""
        return {"relation": "branch", "label": label, "condition": " and ".join(str(a) for a in atoms),
                "rules": self._defining_rules(question.fact), "paths": tuple(point.keys)}

    def _defining(self, fact_name: str, anchor: str, leave_out: frozenset[Atom] = frozenset()) -> dict:
        """The conditions under which rules assert each value of a derived fact, in words, leaving out
        states, what the question's state already implies and `leave_out`."""
        out: dict = {}
        for value, alts in self._defining_atoms(fact_name, anchor).items():
            for alt in alts:
                wording = self._wording(tuple(a for a in alt if a not in leave_out))
                if wording and wording not in out.setdefault(value, []):
                    out[value].append(wording)
        return out

    def _defining_atoms(self, fact_name: str, anchor: str) -> dict:
        """Per value of a derived fact, the conditions of each rule alternative asserting it, less states
        and what the question's state already implies."""
        out: dict = {}
        known = self.shape.implied_atoms(anchor)
        for rule, alt in self.shape.asserting(fact_name):
            value = dict(rule.asserts)[fact_name]
            out.setdefault(value, []).append(tuple(a for a in alt if not self.shape.holds(a) and a not in known))
        return out

    def _wording(self, atoms: tuple[Atom, ...]) -> str:
        """Conditions in words, each naming its fact: `<fact> >= N <unit> and ...`."""
        return " and ".join(phrase(self.kb.facts[a.fact], a) for a in atoms)

    def _defining_rules(self, fact_name: str) -> tuple[str, ...]:
        return tuple(dict.fromkeys(rule.id for rule, _ in self.shape.asserting(fact_name)))

    def _edge(self, u: str, v: str, **attrs) -> None:
        """Add an edge; a second path between the same two nodes joins the first (`or`; unconditional wins)."""
        if self.g.has_edge(u, v):
            old = self.g.edges[u, v]
            for key in ("label", "condition"):
                if not attrs[key] or not old[key]:
                    old[key] = ""
                elif attrs[key] != old[key]:
                    old[key] = f"{old[key]}\nor {attrs[key]}" if key == "label" else f"{old[key]} or {attrs[key]}"
            if old["relation"] == "if" and attrs["relation"] != "if":
                old["relation"] = attrs["relation"]  # an unconditional path: no longer a precaution
            old["paths"] = tuple(dict.fromkeys(old["paths"] + attrs["paths"]))
            old["rules"] = tuple(dict.fromkeys(old["rules"] + attrs["rules"]))
            return
        self.g.add_edge(u, v, **attrs)


def _plain(keys) -> dict:
    return {"relation": "next", "label": "", "condition": "", "rules": (), "paths": tuple(keys)}


def possible(kb: Kb, alternative: tuple[Atom, ...]) -> bool:
    """False when the conditions of one alternative exclude each other: it can never fire."""
    return contradiction(kb, alternative) is None


def _excludes(kb: Kb, a: Atom, b: Atom) -> bool:
    """Two conditions on one fact that no value satisfies together (`x == a` and `x == b`)."""
    return contradiction(kb, (a, b)) is not None
