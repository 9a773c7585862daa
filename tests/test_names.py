"""vosbench.names: the one validator for names that become path components."""

from __future__ import annotations

import string
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vosbench.errors import DatasetError
from vosbench.names import MAX_NAME_BYTES, _unsafe_reason, check_name, require_name, safe_join

UNSAFE = [
    ("", "is empty"),
    (".", "is the current folder"),
    ("..", "is the parent folder"),
    ("a/b", "separator '/'"),
    ("/abs", "separator '/'"),
    ("../../etc", "separator '/'"),
    ("a\\b", "separator '\\\\'"),
    ("x\x00", "control character '\\x00'"),
    ("x\n", "control character '\\n'"),
    ("bear\r", "control character '\\r'"),
    ("del\x7f", "control character '\\x7f'"),
    (" x", "whitespace"),
    ("x\t", "control character '\\t'"),
    ("x ", "whitespace"),
    ("C:x", "drive"),
    ("\udcff", "UTF-8"),
    ("é" * 128, "256 bytes"),  # 128 characters, but two bytes each
]
SAFE = ["bike-packing", "00000", "ünïcode", "a.b", "...", "a b", "x" * MAX_NAME_BYTES, "é" * 127]


@pytest.mark.parametrize("name, reason", UNSAFE)
def test_unsafe_names_are_refused_with_their_reason(name, reason):
    assert reason in (check_name(name) or "")


@pytest.mark.parametrize("name", SAFE)
def test_safe_names_pass(name):
    assert check_name(name) is None
    assert require_name(name, Path("list.txt")) == name


def test_what_names_the_kind_of_thing():
    assert check_name("..", what="frame") == "is the parent folder, not a frame"


def test_require_name_raises_naming_name_and_source():
    with pytest.raises(DatasetError) as error:
        require_name("..", Path("ImageSets/val.txt"), what="sequence")
    problem = error.value.problems[0]
    assert problem.kind == "invalid" and problem.path == Path("ImageSets/val.txt")
    assert problem.message == (
        "sequence name '..' from ImageSets/val.txt: is the parent folder, not a sequence"
    )


def test_require_name_without_source():
    with pytest.raises(DatasetError) as error:
        require_name("", None, what="run")
    assert str(error.value) == "run name '': is empty"


def test_safe_join_joins_valid_names(tmp_path):
    assert safe_join(tmp_path, "masks", "bear") == tmp_path / "masks" / "bear"
    assert safe_join(Path("relative"), "a.b") == Path("relative/a.b")


@pytest.mark.parametrize("names", [("..",), ("masks", ".."), ("a/../..",), ("/etc",), ("",)])
def test_safe_join_refuses_names_that_climb_out(tmp_path, names):
    with pytest.raises(DatasetError) as error:
        safe_join(tmp_path, *names)
    assert error.value.kind == "invalid" and error.value.problems[0].path == tmp_path


def test_safe_join_keeps_symlinks_inside_the_root(tmp_path):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "link").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    assert safe_join(tmp_path / "root", "link") == tmp_path / "root" / "link"


def test_names_imports_no_heavy_module():
    code = "import sys, vosbench.names; print(sorted({'torch', 'numpy'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


PLAIN_CHARACTERS = string.ascii_letters + string.digits + "._-"


@settings(max_examples=300, deadline=None)
@given(st.text(PLAIN_CHARACTERS, min_size=1, max_size=MAX_NAME_BYTES + 2))
def test_the_plain_name_shortcut_agrees_with_every_rule(name):
    """check_name answers ASCII names of letters, digits, '.', '_' and '-' without running the
    rules one by one: its answer must be theirs (dot names and over-long names included)."""
    assert check_name(name, what="frame") == _unsafe_reason(name, what="frame")


def test_the_plain_name_shortcut_stops_at_the_length_limit():
    assert check_name("7" * MAX_NAME_BYTES) is None
    assert "256 bytes" in check_name("7" * (MAX_NAME_BYTES + 1))
    assert check_name("..") == "is the parent folder, not a sequence"
