"""Packaging metadata for tests: a ``*.dist-info`` folder declaring entry points, as pip writes one.

vosbench's own methods and trainers reach its catalogues only through the entry points that
``setup.cfg`` declares. An environment installed from another checkout (or before the entry
points changed) lacks them, so the test session writes this checkout's into a temporary
``vosbench`` dist-info placed first on ``sys.path`` (see ``conftest.py``); tests of broken or
outside plug-ins write their own.
"""

from __future__ import annotations

import configparser
from importlib import metadata
from pathlib import Path

EntryPoints = dict[str, dict[str, str]]  # group → name → "module:object"
REPO = Path(__file__).resolve().parents[1]


def declared_entry_points(setup_cfg: Path = REPO / "setup.cfg") -> EntryPoints:
    """The ``[options.entry_points]`` of a setup.cfg, group by group."""
    parser = configparser.ConfigParser()
    parser.read(setup_cfg, encoding="utf-8")
    groups: EntryPoints = {}
    for group, text in parser["options.entry_points"].items():
        pairs = (line.split("=", 1) for line in text.splitlines() if line.strip())
        groups[group] = {name.strip(): value.strip() for name, value in pairs}
    return groups


def installed_entry_points(distribution: str) -> EntryPoints:
    """The entry points the importable metadata of ``distribution`` declares (none when absent)."""
    try:
        points = metadata.distribution(distribution).entry_points
    except metadata.PackageNotFoundError:
        return {}
    groups: EntryPoints = {}
    for point in points:
        groups.setdefault(point.group, {})[point.name] = point.value
    return groups


def write_dist_info(site: Path, name: str, entry_points: EntryPoints, version: str = "1.0") -> Path:
    """``site/<name>-<version>.dist-info`` with METADATA and entry_points.txt; returns the
    folder."""
    folder = site / f"{name.replace('-', '_')}-{version}.dist-info"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n", encoding="utf-8"
    )
    lines = []
    for group, points in entry_points.items():
        lines += [f"[{group}]", *(f"{key} = {value}" for key, value in points.items()), ""]
    (folder / "entry_points.txt").write_text("\n".join(lines), encoding="utf-8")
    return folder
