"""The knowledge floor: the frozen model of a KB (model), its condition language (conditions), the one
wording of conditions and numbers (wording), values at every threshold (boundaries), and load/, the only
code that reads KB files."""
