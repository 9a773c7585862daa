"""The generic registry: lazy entries, aliases, plugins and suggestions."""

from __future__ import annotations

import sys
from types import SimpleNamespace

import pytest

import vosbench.registry as registry_module
from vosbench.datasets import DATASETS
from vosbench.errors import UnknownNameError
from vosbench.registry import Registry, import_object


def test_lazy_entries_import_on_first_use(tmp_path, monkeypatch):
    """The target module is one nothing else imports, so only the registry's own import can load
    it."""
    module = "vosbench_lazy_target_probe"
    (tmp_path / f"{module}.py").write_text("def join(*parts):\n    return '/'.join(parts)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, module, raising=False)
    registry = Registry("thing")
    registry.register("join", f"{module}:join", aliases=("path-join",), description="joins paths")
    entry = registry.entry("join")
    assert (
        "join" in registry
        and registry.names() == ["join"]
        and entry.info["description"] == "joins paths"
    )
    assert entry.target == f"{module}:join" and module not in sys.modules, "nothing imported yet"
    assert registry.get("PATH-JOIN")("a", "b") == "a/b"
    assert module in sys.modules and entry.target is sys.modules[module].join
    sys.modules.pop(module)


def test_unknown_names_suggest_close_ones():
    with pytest.raises(UnknownNameError) as error:
        DATASETS.get("davis2061")
    assert "did you mean" in str(error.value) and "'davis2016'" in str(error.value)
    assert "known:" in str(error.value)


def test_duplicates_are_refused():
    registry = Registry("thing")
    registry.register("a", 1)
    with pytest.raises(ValueError):
        registry.register("A", 2)


def test_decorator_form():
    registry = Registry("thing")

    @registry.register("double")
    def double(x):
        return 2 * x

    assert registry.get("double")(3) == 6


def test_entry_point_plugins(monkeypatch):
    point = SimpleNamespace(
        name="outside", value="math:sqrt", dist=SimpleNamespace(name="outside-pkg")
    )
    monkeypatch.setattr(
        registry_module, "_entry_points", lambda group: [point] if group == "demo.group" else []
    )
    registry = Registry("thing", entry_point_group="demo.group")
    assert "outside" in registry.names()
    assert registry.get("outside")(9) == 3.0
    assert registry.entry("outside").origin == "plugin:outside-pkg"


def test_import_object_needs_a_colon():
    with pytest.raises(ValueError):
        import_object("os.path.join")
    assert import_object("os.path:join.__name__") == "join"


def test_aliases_added_after_the_entry_points_load(monkeypatch):
    point = SimpleNamespace(
        name="outside", value="math:sqrt", dist=SimpleNamespace(name="vosbench")
    )
    monkeypatch.setattr(registry_module, "_entry_points", lambda group: [point])
    seen = []

    def after(registry):
        seen.append(sorted(registry._entries))
        registry.add_alias("root", "outside")

    registry = Registry("thing", entry_point_group="demo.group", after_plugins=after)
    assert registry.get("ROOT")(16) == 4.0 and registry.entry("outside").aliases == ("root",)
    assert registry.entry("outside").origin == "vosbench"  # vosbench's own distribution
    assert registry.names() == ["outside"] and seen == [["outside"]], "the hook runs once"
    with pytest.raises(ValueError, match="already registered"):
        registry.add_alias("outside", "outside")


def test_a_registered_name_is_found_without_scanning_the_entry_points(monkeypatch):
    """Entry points never replace a registered entry, so a known name is answered before the
    scan of the installed distributions (which costs every command that loads one dataset)."""
    scans = []
    points = [
        SimpleNamespace(name="outside", value="math:sqrt", dist=SimpleNamespace(name="pkg")),
        SimpleNamespace(name="inside", value="math:ceil", dist=SimpleNamespace(name="pkg")),
    ]
    monkeypatch.setattr(
        registry_module, "_entry_points", lambda group: scans.append(group) or points
    )
    registry = Registry("thing", entry_point_group="demo.group")
    registry.register("inside", "math:floor", aliases=("in",))
    assert registry.get("INSIDE")(2.5) == 2 and registry.get("in")(3.5) == 3
    assert "inside" in registry and scans == []
    assert registry.get("outside")(9) == 3.0 and scans == ["demo.group"]
    assert registry.get("inside")(2.5) == 2, "the entry point of the same name does not replace it"
    assert registry.names() == ["inside", "outside"] and scans == ["demo.group"]
    assert "nowhere" not in registry and scans == ["demo.group"], "the scan runs once"
