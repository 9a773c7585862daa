"""The method and trainer catalogues: filled from entry points only, vosbench's own as any package's."""

from __future__ import annotations

import ast
import sys
import textwrap
from pathlib import Path

import pytest

import vosbench
from distinfo import declared_entry_points, write_dist_info
from vosbench.errors import PluginError
from vosbench.runner.methods import METHODS, get_method
from vosbench.train.trainers import TRAINERS, get_trainer

CORE = Path(vosbench.__file__).parent
BUILTIN_METHODS = {"first-frame", "flow", "rgmp", "fan", "ranet", "cosnet"}


def _code_strings(tree: ast.AST) -> list:
    """String constants of a module that are not docstrings."""
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    return [node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings]


def test_the_core_imports_and_names_no_plugin():
    offenders = []
    for path in sorted(CORE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            offenders += [f"{path.name}: import {n}" for n in names if n.split(".")[0] == "vosbench_methods"]
        offenders += [f"{path.name}: {s!r}" for s in _code_strings(tree) if "vosbench_methods" in s]
    assert offenders == []


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
    (site / "blurplug_method.py").write_text(textwrap.dedent('''
        from vosbench.runner import MethodCard, VOSMethod

        class Blur(VOSMethod):
            card = MethodCard(name="blur", task="semi-supervised", summary="an outside method")

            def reset(self, meta):
                pass

            def step(self, frame, mask=None, obj_ids=None):
                return mask
    '''))
    monkeypatch.syspath_prepend(str(site))
    scoped_methods._plugins_loaded = False
    try:
        assert METHODS.entry("blur").origin == "plugin:blurplug"
        assert get_method("blur").card.summary == "an outside method"
        assert BUILTIN_METHODS <= set(METHODS.names())
    finally:
        sys.modules.pop("blurplug_method", None)


def test_an_entry_that_names_no_class_is_a_plugin_error(tmp_path, monkeypatch, scoped_methods, scoped_trainers):
    site = tmp_path / "site"
    write_dist_info(site, "brokenplug", {"vosbench.methods": {"typo": "json:NoSuchClass", "gone": "no_such_module:X"},
                                         "vosbench.trainers": {"typo": "json:dumps"}})
    monkeypatch.syspath_prepend(str(site))
    scoped_methods._plugins_loaded = False
    with pytest.raises(PluginError, match=r"method 'typo' \(plugin:brokenplug\) cannot be loaded from "
                                          r"'json:NoSuchClass': AttributeError"):
        get_method("typo")
    with pytest.raises(PluginError, match="ModuleNotFoundError: No module named 'no_such_module'"):
        get_method("gone")
    scoped_trainers._plugins_loaded = False
    with pytest.raises(PluginError, match="is not a MethodTrainer subclass"):
        get_trainer("typo")
