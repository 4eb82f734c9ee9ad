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
from clonus.engine.knowledge.model import Kb, Rule
from clonus.engine.knowledge.wording import branch_text

if TYPE_CHECKING:
    import networkx as nx

_SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}


def build_overview(kb: Kb) -> nx.DiGraph:
    """The overview of a KB (see the module docstring)."""
    import networkx as nx

    shape = Shape(kb)
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
        self._prune()
        for node in [n for n, d in self.g.nodes(data=True) if d["kind"] in ("junction", "question")]:
            if self.g.in_degree(node) == 1 and self.g.out_degree(node) == 1:
                self._splice(node)

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

    def _wording(self, atoms) -> str:
        """As the flow's, but conditions on one number name their fact once: `>= N mg/day and < M mg/day`."""
        facts = {a.fact for a in atoms}
        if len(facts) == 1 and self.kb.facts[next(iter(facts))].type == "number":
            fact = self.kb.facts[next(iter(facts))]
            return " and ".join(branch_text(fact, a) for a in atoms)
        return super()._wording(atoms)

    def _merged_leaves(self, point):
        """The flow's leaves at one place, outcome boxes renamed to their overview node and merged."""
        leaves = super()._merged_leaves(point)
        rename = {t: t for t in leaves}
        shown: dict[int, list[str]] = {}
        for target in list(leaves):
            if target.startswith("outcome:"):
                rule = self.kb.rule(target.split(":", 1)[1])
                index = section_index(self.kb, rule)
                mode = self.kb.teaching.sections[index].overview
                if mode == "omitted":
                    del leaves[target]
                elif mode == "grouped":
                    rename[target] = f"group:{index}"
                else:
                    shown.setdefault(index, []).append(rule.id)
        for ids in shown.values():
            ordered = tuple(r.id for r in self.kb.rules if r.id in ids)
            for rule_id in ordered:
                rename[f"outcome:{rule_id}"] = self._box_id(ordered)
        merged: dict[str, tuple[list[str], list[str], list[str]]] = {}
        for target, (phrases, texts, keys) in leaves.items():
            new = rename[target]
            if new.startswith(("outcome:", "group:")):
                members = self.members.setdefault(new, [])
                members.append(target.split(":", 1)[1])
                self.members[new] = [r.id for r in self.kb.rules if r.id in members]
            into = merged.setdefault(new, ([], [], []))
            for phrase_, text in zip(phrases, texts, strict=True):
                if phrase_ not in into[0]:
                    into[0].append(phrase_)
                    into[1].append(text)
            into[2].extend(keys)
        return merged

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
