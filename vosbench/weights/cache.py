"""Where downloaded weights live: ``$VOSBENCH_HOME/weights/<method>/<variant>/``.

``$VOSBENCH_HOME`` defaults to ``$XDG_CACHE_HOME/vosbench`` (``~/.cache/vosbench``). A tag's
folder holds the released file as downloaded, its ``.part`` while a transfer runs, the
converted vosbench checkpoint (``<method>-<variant>.pth``) and ``record.json``: the URL, the
SHA-256 and whether it was pinned by the card or recorded on the first download, the date, and
the converted file's checksum. A lock keeps two processes from downloading one file at once.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vosbench.weights.cards import WeightCard

if TYPE_CHECKING:
    from vosbench.results.lock import FolderLock

RECORD_FORMAT = "vosbench-weights-record/1"


def cache_root(environ: Mapping[str, str] | None = None) -> Path:
    """``$VOSBENCH_HOME``, else ``$XDG_CACHE_HOME/vosbench``, else ``~/.cache/vosbench``."""
    env = os.environ if environ is None else environ
    if env.get("VOSBENCH_HOME"):
        return Path(env["VOSBENCH_HOME"]).expanduser()
    base = env.get("XDG_CACHE_HOME") or str(Path("~/.cache").expanduser())
    return Path(base).expanduser() / "vosbench"


def sha256_file(path: Path | str) -> str:
    """The SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class WeightsCache:
    """The cache folder of one weight card."""

    def __init__(self, card: WeightCard, home: Path | str | None = None):
        self.card = card
        self.home = Path(home) if home is not None else cache_root()
        self.folder = self.home / "weights" / card.method / card.variant

    @property
    def source(self) -> Path:
        """The released file as downloaded (or placed here by hand)."""
        return self.folder / self.card.file

    @property
    def part(self) -> Path:
        return self.folder / (self.card.file + ".part")

    @property
    def converted(self) -> Path:
        return self.folder / self.card.converted_name

    @property
    def record_path(self) -> Path:
        return self.folder / "record.json"

    def record(self) -> dict[str, Any]:
        """What an earlier fetch recorded ({} when none, or unreadable)."""
        try:
            value = json.loads(self.record_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return value if isinstance(value, dict) and value.get("format") == RECORD_FORMAT else {}

    def write_record(self, record: Mapping[str, Any]) -> None:
        from vosbench.io.atomic import atomic_write_text  # imports kept off the listing's path

        text = json.dumps({"format": RECORD_FORMAT, **record}, indent=2) + "\n"
        atomic_write_text(self.record_path, text)

    def recorded_sha256(self) -> str:
        """The checksum a first download recorded ("" when none)."""
        value = self.record().get("sha256", "")
        return value if isinstance(value, str) else ""

    def ready(self) -> bool:
        """The converted checkpoint is here, as recorded (and of the checksum the card pins, if
        it pins one): usable without any network."""
        record = self.record()
        converted = record.get("converted")
        if not isinstance(converted, dict) or not self.converted.is_file():
            return False
        if self.card.sha256 and record.get("sha256") != self.card.sha256:
            return False  # fetched before the card pinned its checksum: check the file again
        return converted.get("size") == self.converted.stat().st_size

    def lock(
        self, *, wait: float = 3600.0, on_wait: Callable[[str], None] | None = None
    ) -> FolderLock:
        """The tag's download lock, taken; waits (polling) while another process holds it."""
        from vosbench.results.lock import FolderLock, RunLockedError

        lock = FolderLock(self.folder / ".locks" / "download.lock", f"fetching {self.card.tag}")
        deadline, told = time.monotonic() + wait, False
        while True:
            try:
                return lock.acquire()
            except RunLockedError as error:
                if time.monotonic() >= deadline:
                    raise
                if on_wait is not None and not told:
                    on_wait(f"waiting: {error}")
                    told = True
                time.sleep(0.5)
