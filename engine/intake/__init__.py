"""Case text (a file, standard input or flags) to validated, normalised input facts: doses and their
units (units), frequencies (frequency), the case as a whole (case)."""
