"""The knowledge engineer's tools: lint (with the boundary search of search.py and space.py), rule tests
and coverage, KB diffs and the KB summary. Pure functions of a KB and of answers."""
