"""The method and trainer catalogues: filled from entry points only, vosbench's own as any
package's; the listing reads torch-free cards and shows a broken entry as a row."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from distinfo import declared_entry_points, write_dist_info

import vosbench
from vosbench.cli import main
from vosbench.errors import PluginError
from vosbench.runner.methods import METHODS, get_method, method_card
from vosbench.train.trainers import TRAINERS, get_trainer

CORE = Path(vosbench.__file__).parent
BUILTIN_METHODS = {"first-frame", "flow", "rgmp", "fan", "ranet", "cosnet"}


def _code_strings(tree: ast.AST) -> list:
    """String constants of a module that are not docstrings."""
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
    ]


def test_the_core_imports_and_names_no_plugin():
    offenders = []
    for path in sorted(CORE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            offenders += [
                f"{path.name}: import {n}" for n in names if n.split(".")[0] == "vosbench_methods"
            ]
        offenders += [f"{path.name}: {s!r}" for s in _code_strings(tree) if "vosbench_methods" in s]
    assert offenders == []


def test_the_architecture_page_names_every_package_and_module():
    """docs/architecture.md is the newcomer's map: a module it does not name is a room the map
    lacks (checked by name; what each module holds stays the page's prose)."""
    import re

    page = (CORE.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    unnamed = [
        str(path.relative_to(CORE.parent))
        for path in sorted(CORE.rglob("*.py"))
        if path.name != "__init__.py" and not re.search(rf"\b{re.escape(path.stem)}\b", page)
    ]
    unnamed += [
        f"{folder.name}/"
        for folder in sorted(CORE.iterdir())
        if (folder / "__init__.py").is_file() and f"{folder.name}/" not in page
    ]
    assert unnamed == []


def test_builtins_come_from_setup_cfg_entry_points_with_vosbench_as_origin():
    declared = declared_entry_points()
    assert set(declared["vosbench.methods"]) == BUILTIN_METHODS
    assert set(declared["vosbench.trainers"]) == {"rgmp", "fan", "ranet", "cosnet"}
    for name in BUILTIN_METHODS:
        assert METHODS.entry(name).origin == "vosbench"
        assert get_method(name).card.name == name
    for name in declared["vosbench.trainers"]:
        assert TRAINERS.entry(name).origin == "vosbench"
    assert get_trainer("fan") is get_trainer("rgmp")  # FAN trains with RGMP's recurrent trainer


def test_an_outside_method_registers_through_the_entry_point(tmp_path, monkeypatch, scoped_methods):
    site = tmp_path / "site"
    write_dist_info(site, "blurplug", {"vosbench.methods": {"blur": "blurplug_method:Blur"}})
    (site / "blurplug_method.py").write_text(
        textwrap.dedent("""
        from vosbench.runner import MethodCard, VOSMethod

        class Blur(VOSMethod):
            card = MethodCard(name="blur", task="semi-supervised", summary="an outside method")

            def reset(self, meta):
                pass

            def step(self, frame, mask=None, obj_ids=None):
                return mask
    """)
    )
    monkeypatch.syspath_prepend(str(site))
    scoped_methods._plugins_loaded = False
    try:
        assert METHODS.entry("blur").origin == "plugin:blurplug"
        assert get_method("blur").card.summary == "an outside method"
        assert BUILTIN_METHODS <= set(METHODS.names())
    finally:
        sys.modules.pop("blurplug_method", None)


def test_an_entry_that_names_no_class_is_a_plugin_error(
    tmp_path, monkeypatch, scoped_methods, scoped_trainers
):
    site = tmp_path / "site"
    write_dist_info(
        site,
        "brokenplug",
        {
            "vosbench.methods": {"typo": "json:NoSuchClass", "gone": "no_such_module:X"},
            "vosbench.trainers": {"typo": "json:dumps"},
        },
    )
    monkeypatch.syspath_prepend(str(site))
    scoped_methods._plugins_loaded = False
    with pytest.raises(
        PluginError,
        match=r"method 'typo' \(plugin:brokenplug\) cannot be loaded from "
        r"'json:NoSuchClass': AttributeError",
    ):
        get_method("typo")
    with pytest.raises(PluginError, match="ModuleNotFoundError: No module named 'no_such_module'"):
        get_method("gone")
    scoped_trainers._plugins_loaded = False
    with pytest.raises(PluginError, match="is not a MethodTrainer subclass"):
        get_trainer("typo")


# -- cards: the catalogue without the networks ------------------------------------------------
def test_every_card_entry_is_its_class_card_with_its_config():
    declared = declared_entry_points()
    assert set(declared["vosbench.method_cards"]) == BUILTIN_METHODS
    for name in BUILTIN_METHODS:
        method, card = get_method(name), method_card(name)
        assert card is method.card and card.config is method.Config and card.name == name


def test_card_aliases_name_the_method():
    assert METHODS.entry("optical-flow").name == "flow" and get_method(
        "OPTICAL-FLOW"
    ) is get_method("flow")
    assert get_method("copy-first-mask").card.name == "first-frame"
    assert METHODS.entry("fanforvos").name == "fan"
    assert "optical-flow" not in METHODS.names(), "aliases are no rows of their own"


LISTING = textwrap.dedent("""
    import sys, time
    sys.modules["torch"] = None  # any import of torch now fails
    from vosbench.cli import main
    began = time.perf_counter()
    assert main(["methods", "-v"]) == 0
    print(f"elapsed {time.perf_counter() - began:.3f}")
    assert main(["datasets"]) == 0
    assert main(["weights", "list"]) == 0
""")


def test_methods_and_datasets_list_without_torch_and_fast():
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", LISTING], capture_output=True, text=True, timeout=60, cwd=CORE.parent
    )
    wall = time.perf_counter() - began
    assert done.returncode == 0, done.stderr
    rows = {line.split()[0] for line in done.stdout.splitlines() if line.strip()}
    assert BUILTIN_METHODS <= rows and "davis2017" in rows and "broken" not in done.stdout
    assert "rgmp: siamese" in done.stdout and "size=full (one of full, small, tiny)" in done.stdout
    assert "weights: `--weights official` downloads the authors' weights.pth" in done.stdout
    assert "rgmp:davis: weights.pth" in done.stdout and "ranet:video-multi" in done.stdout
    assert "davis2016/val, DAVIS-2016 leaderboard: J&F-Mean 0.818, J-Mean 0.815" in done.stdout
    assert wall < 3.0, f"vosbench methods -v and datasets took {wall:.2f} s (whole interpreter)"


BROKEN_PLUGIN = textwrap.dedent("""
    from vosbench.runner import MethodCard, NoConfig, VOSMethod

    TWIN_CARD = MethodCard(name="twin", task="semi-supervised", summary="what the listing says")
    LAZY_CARD = MethodCard(
        name="lazy", task="unsupervised", summary="listed from its card", config=NoConfig
    )
    OTHER_CARD = MethodCard(name="someone-else", task="semi-supervised", summary="another method")

    class Twin(VOSMethod):
        card = MethodCard(name="twin", task="semi-supervised", summary="what runs")

        def reset(self, meta):
            pass

        def step(self, frame, mask=None, obj_ids=None):
            return mask
""")


def test_broken_entries_are_rows_of_the_listing_never_a_crash(
    tmp_path, monkeypatch, capsys, scoped_methods, scoped_method_cards
):
    site = tmp_path / "site"
    write_dist_info(
        site,
        "brokenplug",
        {
            "vosbench.methods": {
                "typo": "brokenplug_method:Twni",
                "gone": "no_such_module:X",
                "twin": "brokenplug_method:Twin",
                "misnamed": "brokenplug_method:Twin",
                "lazy": "brokenplug_heavy:Lazy",
            },
            "vosbench.method_cards": {
                "twin": "brokenplug_method:TWIN_CARD",
                "misnamed": "brokenplug_method:OTHER_CARD",
                "lazy": "brokenplug_method:LAZY_CARD",
            },
        },
    )
    (site / "brokenplug_method.py").write_text(BROKEN_PLUGIN)
    (site / "brokenplug_heavy.py").write_text(
        "raise RuntimeError('the listing must not import the method')\n"
    )
    monkeypatch.syspath_prepend(str(site))
    scoped_methods._plugins_loaded = scoped_method_cards._plugins_loaded = False
    try:
        assert main(["methods"]) == 0
        lines = {
            line.split()[0]: line for line in capsys.readouterr().out.splitlines() if line.strip()
        }
        assert "module 'brokenplug_method' has no attribute 'Twni'" in lines["typo"]
        assert lines["typo"].split()[1] == "broken:" and "(plugin:brokenplug)" in lines["typo"]
        assert "ModuleNotFoundError: No module named 'no_such_module'" in lines["gone"]
        assert (
            "method card 'misnamed' (plugin:brokenplug) describes 'someone-else'"
            in lines["misnamed"]
        )
        assert "its card entry point describes another method than its class" in lines["twin"]
        assert lines["lazy"].split()[:3] == ["lazy", "unsupervised", "no"]  # from its card alone
        assert BUILTIN_METHODS <= set(lines)
        with pytest.raises(
            PluginError, match="RuntimeError: the listing must not import the method"
        ):
            get_method("lazy")
    finally:
        sys.modules.pop("brokenplug_method", None)


def test_an_empty_catalogue_says_to_reinstall(
    capsys, monkeypatch, scoped_methods, scoped_method_cards
):
    import vosbench.registry as registry_module

    monkeypatch.setattr(registry_module, "_entry_points", lambda group: [])
    scoped_methods._entries, scoped_methods._aliases, scoped_methods._plugins_loaded = {}, {}, False
    assert main(["methods"]) == 0
    assert "no methods are registered" in capsys.readouterr().err
    assert main(["run", "-m", "rgmp"]) == 1
    assert "entry-point group 'vosbench.methods' is empty" in capsys.readouterr().err
