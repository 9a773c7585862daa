"""Released checkpoints and published numbers, readable without torch: :class:`WeightCard`,
:class:`Source` and :class:`Reference`.

A method's card (:class:`vosbench.runner.card.MethodCard`) lists one :class:`WeightCard` per
file its authors released: where the file lives (the origin and every mirror the authors give,
with access codes), its format, size and SHA-256 where known, what it is for, and the numbers
published for it. Nothing here is invented: a size or checksum nobody published stays empty
and is recorded on the first download (see :mod:`vosbench.weights.fetch`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

METRICS = (
    "J&F-Mean",
    "J-Mean",
    "J-Recall",
    "J-Decay",
    "F-Mean",
    "F-Recall",
    "F-Decay",
    "T-Mean",
    "mIoU",
)
"""Metric names as vosbench's global tables spell them (mIoU: YouTube-Objects' measure)."""
SPEED_METRICS = ("ms/frame", "FPS")
"""Published speed figures (times as the authors measured them, see each reference's conditions)."""
SOURCE_KINDS = ("direct", "dropbox", "gdrive", "gdrive-folder", "baidu")
"""How a URL is fetched: ``direct`` (plain HTTP(S)), ``dropbox`` (``?dl=1``), ``gdrive`` (a Drive
file, with the large-file confirmation), ``gdrive-folder`` (a Drive folder: the file is looked up by
name in its listing), ``baidu`` (Baidu Pan: only by hand, in a browser or Baidu's client)."""
PURPOSES = ("test", "initialisation")
_TAG = re.compile(r"^[a-z0-9][a-z0-9_-]*:[a-z0-9][a-z0-9._-]*$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_BENCHMARK = re.compile(r"^[a-z0-9][a-z0-9-]*/[a-z0-9][a-z0-9-]*$")


def source_kind(url: str) -> str:
    """The :data:`SOURCE_KINDS` entry a URL's host implies (``direct`` for any other host)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host.endswith("dropbox.com"):
        return "dropbox"
    if host == "pan.baidu.com":
        return "baidu"
    if host in ("drive.google.com", "docs.google.com", "drive.usercontent.google.com"):
        folder = "/folders/" in parts.path or parts.path.rstrip("/").endswith("folderview")
        return "gdrive-folder" if folder else "gdrive"
    return "direct"


def drive_id(url: str) -> str | None:
    """The file or folder id of a Google Drive URL (``open?id=``, ``uc?id=``, ``/file/d/ID``,
    ``/drive/folders/ID``, ``folderview?id=``), or None."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    if query.get("id"):
        return query["id"][0]
    match = re.search(r"/(?:file/d|folders)/([A-Za-z0-9_-]+)", parts.path)
    return match.group(1) if match else None


@dataclass(frozen=True)
class Source:
    """One place a released file can be had.

    Attributes:
        url: an ``http(s)`` URL as the authors give it.
        kind: one of :data:`SOURCE_KINDS`; "" infers it from the host.
        access_code: the pass code a Baidu Pan share asks for ("" when none is given).
        note: what a reader should know (which README gave it, that a copy was deleted …).
    """

    url: str
    kind: str = ""
    access_code: str = ""
    note: str = ""

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname or " " in self.url:
            raise ValueError(f"weights source {self.url!r} is not an http(s) URL")
        if not self.kind:
            object.__setattr__(self, "kind", source_kind(self.url))
        if self.kind not in SOURCE_KINDS:
            raise ValueError(f"weights source {self.url!r}: unknown kind {self.kind!r}")
        if self.kind in ("gdrive", "gdrive-folder") and source_kind(self.url).startswith("gdrive"):
            if not drive_id(self.url):
                raise ValueError(f"weights source {self.url!r}: no Google Drive id in it")

    @property
    def automatic(self) -> bool:
        """Whether vosbench can download from it by itself (Baidu Pan needs a browser)."""
        return self.kind != "baidu"

    def describe(self) -> str:
        """The URL with its access code and note, as a person needs it."""
        extras = [f"access code {self.access_code}"] if self.access_code else []
        extras += [self.note] if self.note else []
        return self.url + (f" ({'; '.join(extras)})" if extras else "")


@dataclass(frozen=True)
class Reference:
    """One published number, as ``vosbench reproduce`` compares it.

    Attributes:
        benchmark: ``<dataset>/<split>`` in vosbench's names (``davis2016/val``, ``fbms/test``).
        metric: one of :data:`METRICS` or :data:`SPEED_METRICS`.
        value: a fraction for accuracy (0.815, not 81.5); milliseconds or frames per second for
            speed.
        source: where it is published ("paper", "DAVIS-2016 leaderboard", "authors' README" …).
        conditions: what the number needs beyond the checkpoint's own protocol ("with CRF",
            "online fine-tuning"); "" when it is the released test protocol as is.
    """

    benchmark: str
    metric: str
    value: float
    source: str
    conditions: str = ""

    def __post_init__(self) -> None:
        if not _BENCHMARK.match(self.benchmark):
            raise ValueError(f"reference benchmark {self.benchmark!r} is not <dataset>/<split>")
        if self.metric not in METRICS + SPEED_METRICS:
            raise ValueError(
                f"reference metric {self.metric!r}: use one of {', '.join(METRICS + SPEED_METRICS)}"
            )
        if not isinstance(self.value, (int, float)) or isinstance(self.value, bool):
            raise ValueError(f"reference value {self.value!r} is not a number")
        if self.metric in METRICS and not 0.0 <= self.value <= 1.0:
            raise ValueError(
                f"reference {self.benchmark} {self.metric} = {self.value}: accuracy is a fraction "
                "in [0, 1] (81.5 % is 0.815)"
            )
        if not self.source:
            raise ValueError(f"reference {self.benchmark} {self.metric}: no source given")

    @property
    def is_speed(self) -> bool:
        return self.metric in SPEED_METRICS

    def describe(self) -> str:
        """``davis2016/val J-Mean 0.815 (paper)``: one line of ``vosbench methods -v``."""
        value = f"{self.value:g}"
        extra = f"; {self.conditions}" if self.conditions else ""
        return f"{self.benchmark} {self.metric} {value} ({self.source}{extra})"

    def as_record(self) -> dict[str, Any]:
        return {
            "benchmark": self.benchmark,
            "metric": self.metric,
            "value": self.value,
            "source": self.source,
            "conditions": self.conditions,
        }


@dataclass(frozen=True)
class WeightCard:
    """One released checkpoint: what ``--weights TAG`` downloads, checks and converts.

    Attributes:
        tag: ``<method>:<variant>`` (``rgmp:davis``), lower case.
        method: the method whose network the file fits (converted with ``vosbench convert``).
        file: the released file's name; a mirror serves it as ``<mirror>/<file>``.
        sources: every known place to get it, the origin first.
        summary: what the checkpoint is, in one line.
        format: how the file is stored (PyTorch version, wrapping, key prefixes).
        datasets: the vosbench datasets it is meant for (``--weights official`` picks the first
            card of the method whose ``datasets`` holds the run's dataset).
        protocol: the test protocol its numbers were obtained with.
        purpose: ``test`` (segments videos) or ``initialisation`` (for training only).
        size: the file's size in bytes, 0 when unknown.
        sha256: the file's SHA-256, "" when nobody published it (recorded on first download).
        max_bytes: refuse a download larger than this (a wrong link serving something else).
        references: the numbers published for this checkpoint, each with its source.
    """

    tag: str
    method: str
    file: str
    sources: tuple[Source, ...]
    summary: str
    format: str = ""
    datasets: tuple[str, ...] = ()
    protocol: str = ""
    purpose: str = "test"
    size: int = 0
    sha256: str = ""
    max_bytes: int = 2 * 1024**3
    references: tuple[Reference, ...] = field(default=())

    def __post_init__(self) -> None:
        where = f"weight card {self.tag!r}"
        if not _TAG.match(self.tag):
            raise ValueError(f"{where}: a tag is <method>:<variant> in lower case")
        if self.tag.split(":", 1)[0] != self.method:
            raise ValueError(f"{where}: the tag must start with its method {self.method!r}")
        if not _FILE_NAME.match(self.file) or ".." in self.file:
            raise ValueError(f"{where}: {self.file!r} is not a plain file name")
        if not self.sources:
            raise ValueError(f"{where}: no source URL")
        if self.sha256 and not _SHA256.match(self.sha256):
            raise ValueError(f"{where}: sha256 must be 64 lower-case hex digits")
        if self.purpose not in PURPOSES:
            raise ValueError(f"{where}: purpose must be one of {', '.join(PURPOSES)}")
        if self.size < 0 or self.max_bytes <= 0 or (self.size and self.size > self.max_bytes):
            raise ValueError(f"{where}: size {self.size} must be within 0 … max_bytes")

    @property
    def variant(self) -> str:
        return self.tag.split(":", 1)[1]

    @property
    def converted_name(self) -> str:
        """The converted vosbench checkpoint's file name (``rgmp-davis.pth``)."""
        return f"{self.method}-{self.variant}.pth"

    def convert_command(self, source: str | None = None) -> str:
        """The ``vosbench convert`` command for a file downloaded by hand."""
        return (
            f"vosbench convert --method {self.method} {source or self.file} {self.converted_name}"
        )

    def as_record(self) -> dict[str, Any]:
        """JSON-ready facts (stored in run manifests with the method's card)."""
        return {
            "tag": self.tag,
            "method": self.method,
            "file": self.file,
            "sources": [
                {"url": s.url, "kind": s.kind, "access_code": s.access_code, "note": s.note}
                for s in self.sources
            ],
            "summary": self.summary,
            "format": self.format,
            "datasets": list(self.datasets),
            "protocol": self.protocol,
            "purpose": self.purpose,
            "size": self.size,
            "sha256": self.sha256,
            "references": [r.as_record() for r in self.references],
        }


def reference_lines(references: tuple[Reference, ...] | list[Reference]) -> list[str]:
    """References grouped by benchmark, source and conditions, one readable line per group:
    ``davis2016/val, paper: J-Mean 0.815, F-Mean 0.82``."""
    groups: dict[tuple[str, str, str], list[Reference]] = {}
    for reference in references:
        key = (reference.benchmark, reference.source, reference.conditions)
        groups.setdefault(key, []).append(reference)
    lines = []
    for (benchmark, source, conditions), group in groups.items():
        values = ", ".join(f"{r.metric} {r.value:g}" for r in group)
        lines.append(
            f"{benchmark}, {source}: {values}" + (f" ({conditions})" if conditions else "")
        )
    return lines
