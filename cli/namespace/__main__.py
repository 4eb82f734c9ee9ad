"""`python -m clonus`: the same as the `clonus` command.

This file is installed as clonus/__main__.py (pyproject.toml maps the package `clonus` to this folder,
which has no __init__.py, so `clonus` stays a namespace package for clonus.engine, clonus.cli...)."""

from clonus.cli.main import run

run()
