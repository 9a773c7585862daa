"""Typed errors. Library code raises these; only the CLI turns them into exit codes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class VosbenchError(Exception):
    """Base class of every error vosbench raises on purpose (the CLI exits non-zero).

    Errors cross process boundaries (evaluation workers), so they pickle by state: the
    default ``cls(*args)`` would pass the rendered message to a constructor that expects
    problems, paths or keys.
    """

    def __reduce__(self) -> tuple[Any, ...]:
        return _rebuild, (type(self), self.args, dict(self.__dict__))


def _rebuild(
    cls: type[VosbenchError], args: tuple[Any, ...], state: dict[str, Any]
) -> VosbenchError:
    """An error with the given args and attributes, without re-running its ``__init__``."""
    error = cls.__new__(cls, *args)
    error.args = args
    error.__dict__.update(state)
    return error


class ConfigError(VosbenchError):
    """A bad option or combination of options."""


class PluginError(ConfigError):
    """A catalogue entry (built-in or plug-in) whose target cannot be imported or is not what it
    must be."""


class UnknownNameError(VosbenchError, KeyError):
    """A registry lookup failed; the message carries "did you mean" suggestions."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input, tied to the file (or folder) it concerns."""

    path: Path | None
    message: str
    kind: str = "invalid"

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path is not None else self.message


class InputError(VosbenchError):
    """One or more problems with input files; ``problems`` lists each with its path.

    A plain string is taken as one problem without a path (iterating it would make one
    problem per character).
    """

    def __init__(self, problems: Iterable[Problem] | Problem | str):
        if isinstance(problems, str):
            problems = Problem(None, problems)
        self.problems = [problems] if isinstance(problems, Problem) else list(problems)
        super().__init__(self._render())

    @property
    def kind(self) -> str:
        return self.problems[0].kind if self.problems else "invalid"

    def _render(self) -> str:
        if len(self.problems) == 1:
            return str(self.problems[0])
        lines = [f"{len(self.problems)} problems found:"]
        lines += [f"  - {p}" for p in self.problems]
        return "\n".join(lines)


class MaskFormatError(InputError):
    """A mask file cannot be read as a label map (RGB, 16-bit, unreadable, ...)."""


class DatasetError(InputError):
    """A dataset folder is missing, incomplete or malformed."""


class EvaluationError(InputError):
    """Predictions cannot be evaluated against the ground truth as given."""


class SizeMismatchError(EvaluationError):
    """A prediction's size differs from its ground truth's."""


class ExtraObjectError(EvaluationError):
    """A prediction holds object ids the ground truth does not define."""


class SequenceTooShortError(EvaluationError):
    """A sequence leaves no frame to evaluate under the chosen protocol."""
