"""Safe names: the one check for every outside name that becomes a path component.

Sequence names come from split lists and folder listings, and the runner turns them into
folders it later replaces or deletes (``masks/<name>/``). A name such as ``..`` would aim those
operations at the run folder itself, so every name read from outside passes through here
before it is joined to a path. The module imports nothing heavy (no torch, no numpy).

Stable API:

* :func:`check_name` ``(name, *, what="sequence") -> str | None``: why ``name`` is unsafe,
  or None when it is a safe single path component.
* :func:`require_name` ``(name, source=None, *, what="sequence") -> str``: ``name`` itself,
  or a :class:`~vosbench.errors.DatasetError` whose Problem points at ``source`` (the file or
  folder the name came from), kind ``"invalid"``.
* :func:`safe_join` ``(root, *names, what="sequence") -> Path``: ``root / names…`` after
  :func:`require_name` on each, checked to stay inside ``root``.

A safe name is non-empty, at most :data:`MAX_NAME_BYTES` bytes in UTF-8, holds no ``/`` or
``\\``, is not ``.`` or ``..``, names no drive (``C:``), has no control character (ASCII below
32, DEL, NUL), no leading or trailing whitespace, and is valid UTF-8 text. Anything else
(dots inside, unicode, digits only) is allowed.
"""

from __future__ import annotations

import os
import re
from pathlib import Path, PureWindowsPath

from vosbench.errors import DatasetError, Problem

MAX_NAME_BYTES = 255  # the usual file-system limit on one path component
_FOLDER_ITSELF = {".": "is the current folder", "..": "is the parent folder"}
# What nearly every name is (frame numbers, ASCII video names): ASCII letters, digits, ``_``,
# ``-`` and inner or trailing dots, at most MAX_NAME_BYTES long. Such a name passes every check of
# :func:`_unsafe_reason`, so :func:`check_name` answers it without them (datasets list thousands).
_PLAIN = re.compile(rf"[A-Za-z0-9_-][A-Za-z0-9._-]{{0,{MAX_NAME_BYTES - 1}}}")

__all__ = ["MAX_NAME_BYTES", "check_name", "require_name", "safe_join"]


def check_name(name: str, *, what: str = "sequence") -> str | None:
    """Why ``name`` cannot be used as one path component, or None when it can."""
    if isinstance(name, str) and _PLAIN.fullmatch(name):
        return None
    return _unsafe_reason(name, what=what)


def _unsafe_reason(name: str, *, what: str = "sequence") -> str | None:
    """:func:`check_name` rule by rule, for any name (the plain ones included)."""
    if not isinstance(name, str):
        return f"is a {type(name).__name__}, not text"
    if not name:
        return "is empty"
    if name in _FOLDER_ITSELF:
        return f"{_FOLDER_ITSELF[name]}, not a {what}"
    for separator in ("/", "\\"):
        if separator in name:
            return f"contains the path separator {separator!r}"
    control = next((c for c in name if ord(c) < 32 or ord(c) == 127), None)
    if control is not None:
        return f"contains the control character {control!r}"
    if name != name.strip():
        return "starts or ends with whitespace"
    if PureWindowsPath(name).drive:
        return "names a drive"
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError:  # undecodable bytes of a file name (surrogate escapes)
        return "is not valid UTF-8 text"
    if size > MAX_NAME_BYTES:
        return f"is {size} bytes long; at most {MAX_NAME_BYTES} are allowed"
    return None


def require_name(name: str, source: Path | None = None, *, what: str = "sequence") -> str:
    """``name`` when it is safe; otherwise a DatasetError naming it and where it came from."""
    reason = check_name(name, what=what)
    if reason is None:
        return name
    origin = f" from {source}" if source is not None else ""
    raise DatasetError(Problem(source, f"{what} name {name!r}{origin}: {reason}", "invalid"))


def safe_join(root: Path, *names: str, what: str = "sequence") -> Path:
    """``root`` joined with validated ``names``, refused when the result leaves ``root``.

    The containment check is lexical (no symlink is resolved): links inside a dataset or a
    results folder are legitimate, and the names themselves are what must not climb out.
    """
    for name in names:
        require_name(name, Path(root), what=what)
    base = os.path.normpath(os.path.abspath(root))
    target = os.path.normpath(os.path.join(base, *names))
    if os.path.commonpath([base, target]) != base:
        message = f"{what} path {target} lies outside {base}"
        raise DatasetError(Problem(Path(root), message, "invalid"))
    return Path(root).joinpath(*names)
