"""clonus.cli: the typer application; the only code that prints or exits."""
