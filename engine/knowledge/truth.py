"""Whether one condition held for a case, as the engine reads it (for coverage and explanations)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from clonus.engine.knowledge.conditions import Atom, holds
from clonus.engine.knowledge.model import Kb


def truth(kb: Kb, atom: Atom, facts: Mapping[str, Any], derived: Mapping[str, Any]) -> bool | None:
    """Whether one condition held for a case: None for a comparison on an input fact the case lacks."""
    if kb.facts[atom.fact].origin == "derived":
        if atom.fact not in derived:
            return holds(atom, False, True) if kb.facts[atom.fact].type == "boolean" else False
        return holds(atom, derived[atom.fact], True)
    return holds(atom, facts.get(atom.fact), atom.fact in facts)
