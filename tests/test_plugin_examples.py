"""The worked plug-in examples of docs/plugins.md run as written, so the page cannot drift from the
API.

The page marks each code block with an HTML comment above it:

* ``<!-- example: KIND file=PATH -->``: a module of the example package, written to PATH;
* ``<!-- example: KIND entry-points -->``: an ``ini`` block, the ``setup.cfg`` entry points the
  package declares (installed here as a ``*.dist-info``, which is what ``pip install`` writes);
* ``<!-- example: KIND -->``: Python run in order, in one namespace, from a scratch folder.

KIND is ``method``, ``dataset`` or ``metric``; every kind must have all three.
"""

from __future__ import annotations

import configparser
import contextlib
import re
import sys
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest
from conftest import restored
from distinfo import write_dist_info

PAGE = Path(__file__).resolve().parents[1] / "docs" / "plugins.md"
KINDS = ("method", "dataset", "metric")
BLOCK = re.compile(
    r"<!-- example: (?P<kind>\w+)(?: (?P<what>file=\S+|entry-points))? -->\n"
    r"```(?P<lang>\w+)\n(?P<code>.*?)\n```",
    re.S,
)


def examples(kind: str) -> dict[str, object]:
    files: dict[str, str] = {}
    entry_points: dict[str, dict[str, str]] = {}
    code: list[str] = []
    for match in BLOCK.finditer(PAGE.read_text(encoding="utf-8")):
        if match["kind"] != kind:
            continue
        what, lang, text = match["what"] or "", match["lang"], match["code"]
        if what.startswith("file="):
            assert lang == "python", what
            files[what[len("file=") :]] = text + "\n"
        elif what == "entry-points":
            assert lang == "ini"
            for group, points in setup_cfg_entry_points(text).items():
                entry_points.setdefault(group, {}).update(points)
        else:
            assert lang == "python"
            code.append(text)
    return {"files": files, "entry_points": entry_points, "code": code}


def setup_cfg_entry_points(text: str) -> dict[str, dict[str, str]]:
    """The ``[options.entry_points]`` of a setup.cfg snippet, read as setuptools reads it (a
    trailing ``# comment`` stays in the value), each value checked against the entry-point spec."""
    parser = configparser.ConfigParser()
    parser.optionxform = str
    parser.read_string(text)
    groups: dict[str, dict[str, str]] = {}
    for group, value in parser["options.entry_points"].items():
        for line in filter(None, (line.strip() for line in value.splitlines())):
            name, _, target = (part.strip() for part in line.partition("="))
            point = EntryPoint(name, target, group)
            assert re.fullmatch(r"[\w.]+:[\w.]+", target) and point.module and point.attr, (
                f"{group}: {line!r} is not an installable entry point"
            )
            groups.setdefault(group, {})[name] = target
    return groups


def test_every_kind_has_a_module_entry_points_and_code():
    for kind in KINDS:
        found = examples(kind)
        assert found["files"] and found["entry_points"] and found["code"], (
            f"docs/plugins.md: {kind} example incomplete"
        )


LAB_DATA = "lab-data"  # the dataset example's root, written by the test (the page says so)


def write_lab_data(root: Path) -> None:
    """A small dataset in the dataset example's layout, from the synthetic generator."""
    from PIL import Image

    from vosbench.datasets import load_dataset
    from vosbench.io import write_mask

    source = load_dataset(
        "synthetic", None, "val", num_sequences=2, num_frames=4, height=48, width=64
    )
    for sequence in source:
        for stem in sequence.frames:
            images, labels = (
                root / "val" / sequence.name / "images",
                root / "val" / sequence.name / "labels",
            )
            images.mkdir(parents=True, exist_ok=True)
            labels.mkdir(parents=True, exist_ok=True)
            Image.fromarray(sequence.read_frame(stem)).save(images / f"{stem}.jpg", quality=95)
            write_mask(labels / f"{stem}.png", sequence.read_annotation(stem))


@pytest.mark.parametrize("kind", KINDS)
def test_the_example_runs_as_written(
    kind, tmp_path, monkeypatch, capsys, scoped_methods, scoped_method_cards, scoped_metrics
):
    from vosbench.datasets import DATASETS

    found = examples(kind)
    site = tmp_path / "site"
    for relative, text in found["files"].items():
        path = site / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        init = path.parent / "__init__.py"
        if not init.exists():
            init.write_text("", encoding="utf-8")
    write_dist_info(site, "my-vos", found["entry_points"])
    work = tmp_path / "work"
    work.mkdir()
    if kind == "dataset":
        write_lab_data(work / LAB_DATA)
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.chdir(work)
    packages = {relative.split("/")[0] for relative in found["files"]}
    with restored(DATASETS), contextlib.ExitStack() as cleanup:
        cleanup.callback(
            lambda: [
                sys.modules.pop(name)
                for name in list(sys.modules)
                if name.split(".")[0] in packages
            ]
        )
        for registry in (scoped_methods, scoped_method_cards, scoped_metrics, DATASETS):
            registry._plugins_loaded = False  # read the entry points again, now with the example's
        namespace: dict[str, object] = {"__name__": f"docs_plugins_{kind}"}
        for number, code in enumerate(found["code"], start=1):
            exec(
                compile(code, f"docs/plugins.md ({kind} example, block {number})", "exec"),
                namespace,
            )
        for group, points in found["entry_points"].items():
            registry = {
                "vosbench.methods": scoped_methods,
                "vosbench.method_cards": scoped_method_cards,
                "vosbench.metrics": scoped_metrics,
                "vosbench.datasets": DATASETS,
            }[group]
            for name in points:
                assert registry.entry(name).origin == "plugin:my-vos", (group, name)
        check_commands(found["entry_points"], capsys)


def check_commands(entry_points: dict[str, dict[str, str]], capsys) -> None:
    """The commands the page promises take the plug-ins: listings show them, validate reads the
    dataset."""
    from vosbench.cli import main

    capsys.readouterr()
    for group, command in (
        ("vosbench.methods", "methods"),
        ("vosbench.metrics", "metrics"),
        ("vosbench.datasets", "datasets"),
    ):
        if group in entry_points:
            assert main([command]) == 0
            listing = capsys.readouterr().out
            for name in entry_points[group]:
                assert name in listing and "plugin:my-vos" in listing, (command, listing)
    for name in entry_points.get("vosbench.datasets", {}):
        assert main(["validate", "--dataset", name, "--root", LAB_DATA]) == 0, capsys.readouterr()
