"""``--weights TAG``: download a released checkpoint once, check it, convert it once, reuse it.

:func:`fetch_weights` returns the converted vosbench checkpoint of a tag. A ready cache
answers with no network at all; otherwise the file is taken from the cache folder (placed there
by hand), a mirror (``mirror`` or ``$VOSBENCH_WEIGHTS_MIRROR``: ``<mirror>/<file name>``) or the
card's sources in order, checked (size, SHA-256: pinned by the card, or recorded by the first
download and checked from then on) and converted. A file that fails a check, or whose
conversion fails without a pinned checksum to vouch for it, is deleted, never converted or
kept; when nothing works, :class:`WeightsUnavailableError` says where to download the file by
hand and which ``vosbench convert`` command to run.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from vosbench import __version__
from vosbench.errors import ConfigError
from vosbench.weights.cache import WeightsCache, cache_root, sha256_file
from vosbench.weights.cards import WeightCard
from vosbench.weights.catalogue import (
    OFFICIAL,
    check_method,
    looks_like_tag,
    official_tag,
    weight_card,
)
from vosbench.weights.download import (
    Downloader,
    DownloadError,
    Progress,
    WeightsUnavailableError,
    discard_part,
    mirror_url,
)

MIRROR_ENV = "VOSBENCH_WEIGHTS_MIRROR"
PINNED = "pinned"
RECORDED = "recorded on first download"


@dataclass(frozen=True)
class FetchResult:
    """What :func:`fetch_weights` produced.

    Attributes:
        card: the weight card.
        path: the converted vosbench checkpoint (pass it to ``--weights``).
        source: the released file in the cache.
        sha256: the released file's SHA-256.
        checksum: ``pinned`` (the card's) or ``recorded on first download``.
        downloaded: whether this call transferred anything.
        url: where the file came from ("" when it was already in the cache).
    """

    card: WeightCard
    path: Path
    source: Path
    sha256: str
    checksum: str
    downloaded: bool
    url: str = ""


def fetch_weights(
    tag: str,
    *,
    mirror: str | None = None,
    home: Path | str | None = None,
    progress: Progress | None = None,
    notes: Callable[[str], None] | None = None,
    timeout: float = 60.0,
) -> FetchResult:
    """The converted checkpoint of ``tag``, downloading and converting it the first time.

    Args:
        mirror: base URL or folder that replaces the card's sources (default
            ``$VOSBENCH_WEIGHTS_MIRROR``).
        home: the cache root (default :func:`~vosbench.weights.cache.cache_root`).
        progress: receives the download's progress.
        notes: receives what a person should know (a checksum recorded, a wait for a lock).
        timeout: seconds a connection or read may stall.

    Raises:
        UnknownNameError: an unknown tag (with "did you mean").
        WeightsUnavailableError: no source delivered a good file; says how to get it by hand.
    """
    card = weight_card(tag)
    cache = WeightsCache(card, home)
    say = notes or (lambda _message: None)
    if cache.ready():  # the common case: no lock, no network
        return _cached(card, cache)
    if mirror is None:
        mirror = os.environ.get(MIRROR_ENV) or None
    lock = cache.lock(on_wait=say)
    try:
        if cache.ready():  # another process finished it while we waited
            return _cached(card, cache)
        url, downloaded = "", False
        if not cache.source.is_file():
            url = _download(card, cache, mirror, progress, timeout)
            downloaded = True
        sha256, checksum = _verify(card, cache, cache.source if not downloaded else cache.part)
        if downloaded:
            os.replace(cache.part, cache.source)
            discard_part(cache.part)  # its resume note
        conversion = _convert(card, cache, checksum)
        if checksum == RECORDED and not cache.recorded_sha256():
            say(
                f"no checksum is published for {card.tag}: recorded sha256 {sha256} of this "
                f"first download in {cache.record_path}; later downloads are checked against it"
            )
        cache.write_record(
            {
                "tag": card.tag,
                "file": card.file,
                "url": url or cache.record().get("url", ""),
                "sha256": sha256,
                "size": cache.source.stat().st_size,
                "checksum": checksum,
                "fetched": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "converted": {
                    "file": cache.converted.name,
                    "sha256": conversion.sha256,
                    "size": cache.converted.stat().st_size,
                    "vosbench": __version__,
                },
            }
        )
    finally:
        lock.release()
    return FetchResult(card, cache.converted, cache.source, sha256, checksum, downloaded, url)


def resolve_weights(
    value: str,
    method: str,
    *,
    dataset: str | None = None,
    mirror: str | None = None,
    home: Path | str | None = None,
    progress: Progress | None = None,
    notes: Callable[[str], None] | None = None,
) -> Path:
    """What ``--weights VALUE`` names for ``method``: an existing file (it wins), ``official``
    (the method's checkpoint for ``dataset``), a tag (fetched), or else a path the runner
    checks. A string shaped like a tag that is none fails with "did you mean"."""
    tag = weights_tag(value, method, dataset=dataset)
    if tag is None:
        return Path(value).expanduser()
    return fetch_weights(tag, mirror=mirror, home=home, progress=progress, notes=notes).path


def weights_tag(value: str, method: str, *, dataset: str | None = None) -> str | None:
    """The released checkpoint's tag ``--weights VALUE`` names for ``method``, or None when it
    names a file (an existing file always wins); a tag of another method is refused."""
    if Path(value).expanduser().exists():
        return None
    if value.strip().lower() == OFFICIAL:
        tag = official_tag(method, dataset)
    elif looks_like_tag(value.strip()):
        tag = weight_card(value).tag
    else:
        return None
    check_method(weight_card(tag), method)
    return tag


def manual_instructions(card: WeightCard, home: Path | str | None = None) -> str:
    """Where to download ``card``'s file by hand and what to run then."""
    cache = WeightsCache(card, home)
    lines = [f"Download {card.file} by hand from:"]
    lines += [f"  {source.describe()}" for source in card.sources]
    if card.sha256:
        lines.append(f"  (sha256 {card.sha256})")
    lines += [
        f"then convert it: `{card.convert_command()}` and pass --weights {card.converted_name};",
        f"or put it at {cache.source} and run again (it is checked and converted there),",
        f"or name a folder or server that holds it with --mirror or ${MIRROR_ENV}.",
    ]
    return "\n".join(lines)


def _cached(card: WeightCard, cache: WeightsCache) -> FetchResult:
    record = cache.record()
    return FetchResult(
        card,
        cache.converted,
        cache.source,
        str(record.get("sha256", "")),
        PINNED if card.sha256 else str(record.get("checksum", "")),  # ready() checked the pin
        False,
    )


def _download(
    card: WeightCard,
    cache: WeightsCache,
    mirror: str | None,
    progress: Progress | None,
    timeout: float,
) -> str:
    """Fetch the file into the cache's part file from the mirror or the first source that works."""
    downloader = Downloader(max_bytes=card.max_bytes, timeout=timeout, progress=progress)
    failures: list[str] = []
    if mirror:
        url = mirror_url(mirror, card.file)
        try:
            return downloader.fetch_url(url, cache.part, name=card.file)
        except DownloadError as error:
            failures.append(str(error))
    else:
        for source in card.sources:
            if not source.automatic:
                continue
            try:
                return downloader.fetch(source, card.file, cache.part)
            except DownloadError as error:
                failures.append(str(error))
    if not failures:
        failures.append("no source can be downloaded automatically")
    raise WeightsUnavailableError(
        f"cannot download {card.tag} ({card.file}):\n"
        + "\n".join(f"  {failure}" for failure in failures)
        + "\n"
        + manual_instructions(card, cache.home)
    )


def _verify(card: WeightCard, cache: WeightsCache, path: Path) -> tuple[str, str]:
    """The file's SHA-256 and how it is vouched for; a file that fails is deleted."""
    size = path.stat().st_size
    if card.size and size != card.size:
        _delete(path)
        raise WeightsUnavailableError(
            f"{path}: {size:,} bytes where {card.tag}'s {card.file} has {card.size:,}: a "
            "truncated or wrong file; it was deleted. Run again to download it afresh.\n"
            + manual_instructions(card, cache.home)
        )
    sha256 = sha256_file(path)
    expected, checksum = card.sha256, PINNED
    if not expected:
        expected, checksum = cache.recorded_sha256(), RECORDED
    if expected and sha256 != expected:
        _delete(path)
        origin = (
            "the card pins"
            if checksum == PINNED
            else f"the first download recorded ({cache.record_path})"
        )
        raise WeightsUnavailableError(
            f"{card.tag}: checksum mismatch for {card.file}: sha256 {sha256}, but {origin} "
            f"{expected}; the file was deleted, not converted. Run again to download it afresh, "
            "or use another source.\n" + manual_instructions(card, cache.home)
        )
    return sha256, checksum


def _convert(card: WeightCard, cache: WeightsCache, checksum: str):
    """Convert the cached file once; a file nothing vouches for is deleted when it fails."""
    from vosbench.runner.checkpoint import convert_checkpoint

    try:
        return convert_checkpoint(card.method, cache.source, cache.converted, force=True)
    except ConfigError as error:
        vouched = checksum == PINNED or bool(cache.recorded_sha256())
        if not vouched:
            _delete(cache.source)
        what = (
            "it matches its checksum and was kept"
            if vouched
            else "nothing vouches for it, so it was deleted"
        )
        raise WeightsUnavailableError(
            f"{card.tag}: {card.file} does not convert ({what}):\n{error}"
        ) from None


def _delete(path: Path) -> None:
    path.unlink(missing_ok=True)
    if path.name.endswith(".part"):
        discard_part(path)


__all__ = [
    "FetchResult",
    "MIRROR_ENV",
    "fetch_weights",
    "manual_instructions",
    "resolve_weights",
    "weights_tag",
    "cache_root",
]
