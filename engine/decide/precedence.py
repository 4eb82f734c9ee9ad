"""What an answer keeps and in which order: the KB's precedence (kb.yaml `precedence`) applied to the codes
the rules made. Engine-neutral and pure, so that lint's search sees the same answer the Advisor gives.

- A code that suppresses others takes them out (when both were made); the answer lists what was
  suppressed and by what.
- The order: a code comes after every present code that outranks it (directly or through others), and an
  outranking code takes the place of the earliest code it outranks; otherwise critical recommendations
  first, then the KB's sections in reading order, then codes.yaml order. The first recommendation is the
  decisive action.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping

from clonus.engine.knowledge.model import Kb


def suppressed(kb: Kb, codes: Iterable[str]) -> dict[str, str]:
    """Suppressed code -> the first code (in codes.yaml order) that suppresses it, among `codes`."""
    present = set(codes)
    out: dict[str, str] = {}
    for code in kb.codes:
        if code in present:
            for victim in kb.precedence.suppresses.get(code, ()):
                if victim in present:
                    out.setdefault(victim, code)
    return out


def ranked(kb: Kb, codes: Iterable[str], severity: Mapping[str, str] | None = None) -> list[str]:
    """The codes in the order the answer shows them; `severity` is each code's in this answer (a rule may
    raise a code's own)."""
    present = list(dict.fromkeys(codes))
    after = kb.precedence.outranked
    base = kb.display_rank
    given = severity or {}
    own = {c: (0 if given.get(c, kb.codes[c].severity) == "critical" else 1, *base[c][1:]) for c in present}
    # an outranking code takes the place of the earliest code it outranks (assess sleep apnoea where the
    # increase would be), and goes just before it
    keys = {c: (min([own[c], *(own[o] for o in present if o in after.get(c, ()))]), own[c]) for c in present}
    blockers = {c: {o for o in present if c in after.get(o, ())} for c in present}
    ready = [(keys[c], c) for c in present if not blockers[c]]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        _, code = heapq.heappop(ready)
        order.append(code)
        for other in present:
            if code in blockers[other]:
                blockers[other].discard(code)
                if not blockers[other] and other not in order:
                    heapq.heappush(ready, (keys[other], other))
    return order  # acyclic at load: every code is placed
