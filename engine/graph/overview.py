"""The `overview` view: the decision at the level a lecture needs, derived from the rules like the flow.

It is the flowchart of flow.py, drawn with three simplifications that the KB declares (teaching.yaml):
- Only the overview's questions are decisions (diamonds); any other condition a rule tests is written
  on the edge it applies to ("if ..."), as the flow does for precautions.
- The rules of a `grouped` section (precautions, say) are one node for the whole KB, listing what they
  recommend, with a dashed edge from every place where one of them applies; an `omitted` section is left
  to its own page of the deck (the legend names it).
- The rules of a shown section that end at the same place are one box, listing each rule's first
  recommendation (its decisive one) rather than every recommendation.

Boxes keep `rules`, `items`, `sources` and `paths` (the rule alternatives drawn through them), so the
case overlay, the filters and every export work on the overview as on the flow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from clonus.engine.graph.flow import Emitter, Shape, decisions, grow_trees, place_all
from clonus.engine.graph.nodes import graph_attrs, section_index
from clonus.engine.knowledge.conditions import Atom
from clonus.engine.knowledge.model import Kb, Rule
from clonus.engine.knowledge.wording import branch_text, values_of

if TYPE_CHECKING:
    import networkx as nx

_SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}


def build_overview(kb: Kb) -> nx.DiGraph:
    """The overview of a KB (see the module docstring)."""
    import networkx as nx

    shape = Shape.of(kb)
    placed = place_all(shape)
    deciding = decisions(kb, placed)
    wanted = kb.teaching.questions
    if wanted is not None:
        deciding = {anchor: facts & set(wanted) for anchor, facts in deciding.items()}
    g: nx.DiGraph[str] = nx.DiGraph()
    omitted = tuple(s.title for s in kb.teaching.sections if s.overview == "omitted")
    g.graph.update(graph_attrs(kb, "overview"), slide=True, omitted=omitted)
    _Overview(kb, shape, g).emit(grow_trees(shape, placed, deciding))
    return g


def _values(atoms: tuple[Atom, ...]) -> list:
    return [v for a in atoms if a.op in ("==", "in") for v in values_of(a)]


class _Overview(Emitter):
    """The flow's emitter, with boxes merged per place and grouped sections drawn as one node each."""

    def __init__(self, kb: Kb, shape: Shape, g: nx.DiGraph):
        super().__init__(kb, shape, g)
        self.members: dict[str, list[str]] = {}  # box or group node -> its rules, in KB order
        self.boxes: dict[tuple[str, ...], str] = {}  # the rules of a merged box -> its node id

    def emit(self, trees) -> None:
        super().emit(trees)
        for node, rules in self.members.items():
            self.g.nodes[node].update(self._box_attrs(node, [self.kb.rule(r) for r in rules]))
        self._fold()
        self._prune()
        for node in [n for n, d in self.g.nodes(data=True) if d["kind"] in ("junction", "question")]:
            if self.g.in_degree(node) == 1 and self.g.out_degree(node) == 1:
                self._splice(node)

    def _fold(self) -> None:
        """States from which no box of a shown section can be reached are not drawn: where such a state was
        entered, a dashed edge goes to the grouped nodes it leads to (red-flag effects to the urgent
        safety warnings), and what only it led to is on the deck's pages."""
        import networkx as nx

        kinds = self.g.nodes(data="kind")
        boxes = {n for n, d in self.g.nodes(data=True) if kinds[n] == "outcome" and not d.get("grouped")}
        folded = {n for n in self.g if kinds[n] == "state" and not nx.descendants(self.g, n) & boxes}
        for state in sorted(folded, key=list(self.g).index):
            chain = {state} | (nx.descendants(self.g, state) & folded)
            into = [(u, d) for u, _, d in self.g.in_edges(state, data=True) if u not in folded]
            for _, group, out in [e for e in self.g.out_edges(chain, data=True) if e[1].startswith("group:")]:
                for u, data in into:  # lit when a rule of the group fired from there
                    self._edge(u, group, relation="if", label="", condition=data["condition"],
                               rules=out["rules"], paths=out["paths"])
        self.g.remove_nodes_from(folded)

    def _prune(self) -> None:
        """Questions and branch points that lead nowhere once omitted sections are left out."""
        dead = [n for n, d in self.g.nodes(data=True)
                if d["kind"] in ("question", "junction") and self.g.out_degree(n) == 0]
        while dead:
            self.g.remove_nodes_from(dead)
            dead = [n for n, d in self.g.nodes(data=True)
                    if d["kind"] in ("question", "junction") and self.g.out_degree(n) == 0]

    def _splice(self, node: str) -> None:
        """A branch point, or a question answered one way only, with one way in and one way out: one edge,
        worded `answer, question: answer, if condition` (nothing is decided there: a rank less to draw)."""
        (u, _, into), = self.g.in_edges(node, data=True)
        (_, v, out), = self.g.out_edges(node, data=True)
        asked = self.g.nodes[node]
        if asked["kind"] == "question":
            out = {**out, "label": f"{asked['title']}: {out['label']}"}
        self.g.remove_node(node)
        label = ", ".join(t for t in (into["label"], out["label"]) if t)
        condition = " and ".join(t for t in (into["condition"], out["condition"]) if t)
        relation = "if" if "if" in (into["relation"], out["relation"]) else into["relation"]
        self._edge(u, v, **{**out, "relation": relation, "label": label, "condition": condition,
                            "rules": tuple(dict.fromkeys(into["rules"] + out["rules"]))})

    def _question_node(self, anchor, question) -> str:
        """The flow's decision, without its `set by` note (the deck's pages show it)."""
        node = super()._question_node(anchor, question)
        self.g.nodes[node]["note"] = ""
        return node

    def _branch(self, anchor: str, question, atoms: tuple[Atom, ...], point) -> dict:
        """The flow's branch, worded for a slide: a derived value with its defining conditions, less those
        every branch of the question shares (they tell no branch apart), where they are a range of one
        number (`below max (>= 5 mg/day and < N mg/day)`); a branch of several values, or of a value
        defined otherwise, by its values only (`at max or above max`)."""
        edge = super()._branch(anchor, question, atoms, point)
        fact = self.kb.facts[question.fact]
        if fact.origin != "derived" or fact.type == "boolean":
            return edge
        defining = self._defining_atoms(question.fact, anchor)
        drawn = [alt for branch_atoms, _ in question.branches.values() for value in _values(branch_atoms)
                 for alt in defining.get(value, ())]
        shared = frozenset(a for a in drawn[0] if all(a in alt for alt in drawn[1:])) if drawn else frozenset()
        values = _values(atoms)
        meaning = [wording for alt in defining.get(values[0], ()) if len(values) == 1
                   if (wording := self._range(tuple(a for a in alt if a not in shared)))]
        label = " and ".join(branch_text(fact, a) for a in atoms)
        edge["label"] = label + (f" ({'; '.join(dict.fromkeys(meaning))})" if meaning else "")
        return edge

    def _range(self, atoms: tuple[Atom, ...]) -> str:
        """Conditions that are all about one number, as a range the question names (`>= 5 mg/day and < N
        mg/day`); nothing for others (at a glance, the band is its range; the deck's pages say the rest)."""
        facts = {a.fact for a in atoms}
        if len(facts) != 1 or self.kb.facts[next(iter(facts))].type != "number":
            return ""
        fact = self.kb.facts[next(iter(facts))]
        return " and ".join(branch_text(fact, a) for a in atoms)

    def _merged_leaves(self, point):
        """The paths ending at one place, outcome boxes renamed to their overview node and merged. An edge
        says what holds on every path along it: the conditions those paths share (the rest is on the deck's
        page), or each path's one condition (`a or b`); none when one of them is unconditional."""
        paths: dict[str, list[tuple[tuple[Atom, ...], str]]] = {}
        rename = self._renamed([target for target, _, _ in point.leaves])
        for target, conditions, key in point.leaves:
            new = rename.get(target)
            if new is None:
                continue  # an omitted section
            if new.startswith(("outcome:", "group:")):
                members = self.members.setdefault(new, [])
                members.append(target.split(":", 1)[1])
                self.members[new] = [r.id for r in self.kb.rules if r.id in members]
            paths.setdefault(new, []).append((tuple(a for group in conditions for a in group), key))
        merged: dict[str, tuple[list[str], list[str], list[str]]] = {}
        for new, items in paths.items():
            texts = list(dict.fromkeys(" and ".join(str(a) for a in atoms) for atoms, _ in items))
            common = [a for a in items[0][0] if all(a in atoms for atoms, _ in items[1:])]
            if any(not atoms for atoms, _ in items):
                phrases = [""]
            elif common:
                phrases = [self._wording(tuple(common))]
            elif all(len(atoms) == 1 for atoms, _ in items):  # `if intolerable side effects or red flags`
                phrases = list(dict.fromkeys(self._wording(atoms) for atoms, _ in items))
            else:
                phrases = []
            merged[new] = (phrases, texts, [key for _, key in items])
        return merged

    def _renamed(self, targets: list[str]) -> dict[str, str]:
        """Each target at one place as the overview draws it: a grouped section's node, one box for the
        rules of a shown section (merged), the state itself; an omitted section's box is left out."""
        rename: dict[str, str] = {}
        shown: dict[int, list[str]] = {}
        for target in dict.fromkeys(targets):
            if not target.startswith("outcome:"):
                rename[target] = target
                continue
            rule = self.kb.rule(target.split(":", 1)[1])
            index = section_index(self.kb, rule)
            mode = self.kb.teaching.sections[index].overview
            if mode == "grouped":
                rename[target] = f"group:{index}"
            elif mode == "shown":
                shown.setdefault(index, []).append(rule.id)
        for ids in shown.values():
            ordered = tuple(r.id for r in self.kb.rules if r.id in ids)
            for rule_id in ordered:
                rename[f"outcome:{rule_id}"] = self._box_id(ordered)
        return rename

    def _box_id(self, rules: tuple[str, ...]) -> str:
        """`outcome:<rule>` for one rule (as in the flow), `outcome:<first rule>+<how many more>` for more."""
        if rules not in self.boxes:
            base = f"outcome:{rules[0]}" + (f"+{len(rules) - 1}" if len(rules) > 1 else "")
            taken = set(self.boxes.values())
            node, n = base, 1
            while node in taken:
                n, node = n + 1, f"{base}#{n + 1}"
            self.boxes[rules] = node
        return self.boxes[rules]

    def _target(self, node: str) -> str:
        if node not in self.g and node in self.members:
            self.g.add_node(node, kind="outcome", label="", refs=(), paths=())  # filled in by emit()
            return node
        return super()._target(node)

    def _edge(self, u: str, v: str, **attrs) -> None:
        """As the flow's; a precaution edge into a grouped section is not labelled (the node lists them)."""
        if v.startswith("group:") and attrs["relation"] == "if":
            attrs["label"] = ""
        super()._edge(u, v, **attrs)

    def _asserts(self, rule: Rule) -> None:
        keys = tuple(f"{rule.id}#{i}" for i in range(len(rule.alternatives)))
        for node, rules in self.members.items():
            if rule.id in rules:
                for fact, _ in rule.asserts:
                    if fact in self.shape.states:
                        self._edge(node, self._target(f"state:{fact}"), relation="asserts", label="",
                                   condition="", rules=(rule.id,), paths=keys)

    def _box_attrs(self, node: str, rules: list[Rule]) -> dict:
        """What a box or a group shows and holds: each rule's first recommendation, every item, sources."""
        kb = self.kb
        codes = [kb.codes[c] for c in kb.codes if any(rec.code == c for r in rules for rec in r.recommends)]
        firsts = [kb.codes[c] for c in kb.codes if any(r.recommends[0].code == c for r in rules)]
        grouped = node.startswith("group:")
        section = kb.teaching.sections[section_index(kb, rules[0])]
        single = len(rules) == 1 and not grouped
        return {
            "kind": "outcome", "label": section.title if grouped else " / ".join(c.title for c in firsts),
            "refs": tuple(r.id for r in rules) + tuple(c.code for c in codes),
            "title": rules[0].title if single else section.title,
            "text": rules[0].rationale if single else "\n".join(f"{r.title}: {r.rationale}" for r in rules),
            "status": next((r.status for r in rules if r.status != "approved"), "approved"),
            "sources": tuple(dict.fromkeys(s for r in rules for s in r.sources)),
            "rules": tuple(r.id for r in rules), "section": section.title, "grouped": grouped,
            "items": tuple((c.code, c.title, c.category, c.severity) for c in codes),
            "summary": tuple((c.code, c.title, c.category, c.severity) for c in firsts),
            "sets": () if grouped else tuple(dict.fromkeys(self._sets(f, v) for r in rules for f, v in r.asserts
                                                           if f not in self.shape.states)),
            "categories": tuple(c for c in kb.categories if any(code.category == c for code in codes)),
            "severity": max((c.severity for c in codes), key=_SEVERITY_RANK.__getitem__),
            "paths": tuple(f"{r.id}#{i}" for r in rules for i in range(len(r.alternatives))),
        }
