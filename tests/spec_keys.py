"""The networks' state-dict key lists from the specs (tests/golden/keys/), for layout tests."""

from __future__ import annotations

import ast
from pathlib import Path

KEYS = Path(__file__).parent / "golden" / "keys"


def spec_keys(name: str) -> list[tuple[str, tuple[int, ...]]]:
    """(key, shape) rows of a spec key list (``key<TAB>(shape)<TAB>dtype``)."""
    rows = []
    for line in (KEYS / name).read_text().splitlines():
        key, shape, _dtype = line.split("\t")
        rows.append((key, tuple(ast.literal_eval(shape))))
    return rows
