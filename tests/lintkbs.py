"""Build the small KBs of tests/lint_kbs/: `mini`, or mini with one broken variant copied over it."""

from __future__ import annotations

import shutil
from pathlib import Path

LINT_KBS = Path(__file__).resolve().parent / "lint_kbs"
VARIANTS = sorted(p.name for p in LINT_KBS.iterdir() if p.is_dir() and p.name != "mini")


def build_kb(tmp_path: Path, variant: str | None = None) -> Path:
    target = tmp_path / (variant or "mini")
    shutil.copytree(LINT_KBS / "mini", target)
    if variant:
        shutil.copytree(LINT_KBS / variant, target, dirs_exist_ok=True)
    return target


def plant(path: Path, old: str, new: str) -> None:
    """Replace text in a KB file, failing loudly if the text is not there (the KB changed under the test)."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{path}: expected exactly one {old!r} to replace"
    path.write_text(text.replace(old, new), encoding="utf-8")
