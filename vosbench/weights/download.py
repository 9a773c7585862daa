"""HTTP downloads of released weights with the standard library alone.

What the hosts authors use need: Dropbox's share links become direct links (``?dl=1``); Google
Drive's file links go to ``drive.usercontent.google.com`` and its large-file warning page ("can't
scan this file for viruses") is answered by following its form or ``confirm`` link; a Drive
folder is looked up by file name in its listing. Every transfer goes into ``<file>.part`` and
resumes with an HTTP ``Range`` request after a dropped connection (within one call, and in a
later one: a small ``.part.json`` remembers the URL and the server's validator). Sizes are
bounded (``max_bytes``), an HTML page is never taken for the file, and every failure is a
:class:`DownloadError` with one line of reason, never a traceback.
"""

from __future__ import annotations

import http.client
import http.cookiejar
import json
import os
import re
import shutil
import urllib.error
import urllib.request
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qsl, quote, urlencode, urljoin, urlsplit, urlunsplit

from vosbench import __version__
from vosbench.errors import VosbenchError
from vosbench.weights.cards import Source, drive_id, source_kind

CHUNK = 1 << 20
MAX_PAGE = 2 << 20  # an HTML page (Drive's warning, a folder listing) read at most this far
MAX_HOPS = 3  # confirmation pages followed per download
DRIVE_DOWNLOAD = "https://drive.usercontent.google.com/download"
DRIVE_FOLDER = "https://drive.google.com/embeddedfolderview"


class DownloadError(VosbenchError):
    """One URL could not deliver the file; the message is one line of reason."""


class WeightsUnavailableError(VosbenchError):
    """No source delivered a checkpoint (or what came was wrong); says how to get it by hand."""


class Progress(Protocol):
    """Receives a transfer's progress (the CLI draws a bar on stderr)."""

    def start(self, name: str, total: int | None, done: int) -> None: ...

    def advance(self, done: int) -> None: ...

    def end(self) -> None: ...


class _Silent:
    def start(self, name: str, total: int | None, done: int) -> None:
        pass

    def advance(self, done: int) -> None:
        pass

    def end(self) -> None:
        pass


def direct_url(source: Source) -> str:
    """The URL that serves the file itself: Dropbox ``dl=1``, Drive's download endpoint."""
    if source.kind == "dropbox":
        return _with_query(source.url, dl="1")
    if source.kind == "gdrive" and source_kind(source.url) == "gdrive":
        file_id = drive_id(source.url)
        return f"{DRIVE_DOWNLOAD}?{urlencode({'id': file_id, 'export': 'download'})}"
    return source.url


def folder_listing_url(source: Source) -> str:
    """Where a Drive folder lists its files as plain HTML (any other URL: itself)."""
    if source_kind(source.url) == "gdrive-folder":
        return f"{DRIVE_FOLDER}?{urlencode({'id': drive_id(source.url)})}"
    return source.url


def mirror_url(mirror: str, file_name: str) -> str:
    """``<mirror>/<file name>``: a base URL, a ``file://`` URL or a local folder."""
    if "://" not in mirror:
        return (Path(mirror).expanduser().resolve() / file_name).as_uri()
    return mirror.rstrip("/") + "/" + quote(file_name)


def _with_query(url: str, **values: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query.update(values)
    return urlunsplit(parts._replace(query=urlencode(query)))


class Downloader:
    """Fetches URLs into ``.part`` files with resume, bounded size and Drive's confirmation.

    Args:
        max_bytes: refuse anything larger (announced or delivered).
        timeout: seconds a connection or a read may stall.
        retries: resumed attempts after a dropped transfer, per URL.
        progress: receives the transfer's progress.
    """

    def __init__(
        self,
        *,
        max_bytes: int,
        timeout: float = 60.0,
        retries: int = 3,
        progress: Progress | None = None,
    ):
        self.max_bytes, self.timeout, self.retries = max_bytes, timeout, retries
        self.progress = progress or _Silent()
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))
        self.opener.addheaders = [("User-Agent", f"vosbench/{__version__} (urllib)")]

    # -- entry points ------------------------------------------------------------------------

    def fetch(self, source: Source, file_name: str, part: Path) -> str:
        """Download ``source``'s copy of ``file_name`` into ``part``; return the URL that served
        it."""
        if not source.automatic:
            raise DownloadError(f"{source.url}: {source.kind} shares are downloaded by hand only")
        url = direct_url(source)
        if source.kind == "gdrive-folder":
            url = self.find_in_folder(folder_listing_url(source), file_name)
        return self.fetch_url(url, part, name=file_name)

    def fetch_url(self, url: str, part: Path, *, name: str = "") -> str:
        """Download ``url`` into ``part`` (resuming what is there); returns the final URL."""
        if url.startswith("file:"):
            return self._copy_local(url, part, name)
        hops, failures = 0, 0
        while True:
            try:
                follow = self._transfer(url, part, name or part.name)
            except _Dropped as dropped:
                failures += 1
                if failures > self.retries:
                    raise DownloadError(
                        f"{url}: the connection dropped {failures} times ({dropped}); "
                        f"{_size(part)} kept in {part} to resume"
                    ) from None
                continue
            if follow is None:
                return url
            hops += 1
            if hops > MAX_HOPS:
                raise DownloadError(f"{url}: more than {MAX_HOPS} confirmation pages")
            url = follow

    def find_in_folder(self, listing: str, file_name: str) -> str:
        """The download URL of ``file_name`` in a Drive folder listing (or any HTML index)."""
        page, final = self._read_page(listing)
        links = _Links()
        links.feed(page)
        for href, text in links.anchors:
            if text.strip() == file_name:
                target = urljoin(final, href)
                if source_kind(target) == "gdrive" and drive_id(target):
                    return direct_url(Source(target))
                return target
        raise DownloadError(f"{listing}: the folder lists no file named {file_name}")

    # -- one request ---------------------------------------------------------------------------

    def _transfer(self, url: str, part: Path, name: str) -> str | None:
        """One request: append to ``part``; a confirmation page gives the URL to follow next."""
        meta = _read_meta(part)
        if meta.get("url") != url and part.exists():
            discard_part(part)
        offset = part.stat().st_size if part.exists() else 0
        request = urllib.request.Request(url)
        if offset:
            request.add_header("Range", f"bytes={offset}-")
            if meta.get("validator"):
                request.add_header("If-Range", meta["validator"])
        try:
            response = self.opener.open(request, timeout=self.timeout)
        except urllib.error.HTTPError as error:
            if error.code == 416 and offset:
                total = _content_range_total(error.headers.get("Content-Range", ""))
                error.close()
                if total == offset:
                    return None  # the part file already holds the whole file
                discard_part(part)
                raise _Dropped("the server refused to resume; starting over") from None
            error.close()
            raise DownloadError(f"{url}: HTTP {error.code} {error.reason}") from None
        except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as error:
            raise DownloadError(f"{url}: {_reason(error)}") from None
        with response:
            status = response.status
            if offset and status != 206:
                discard_part(part)  # the server sent the whole file again
                offset = 0
            elif offset:
                start = _content_range_start(response.headers.get("Content-Range", ""))
                if start != offset:
                    discard_part(part)
                    raise _Dropped(f"the server resumed at byte {start}, not {offset}")
            if "text/html" in response.headers.get("Content-Type", "").lower():
                return self._confirmation(response, url)
            length = response.headers.get("Content-Length")
            total = offset + int(length) if length and length.isdigit() else None
            if total is not None and total > self.max_bytes:
                raise DownloadError(
                    f"{url}: the server announces {total:,} bytes, more than the "
                    f"{self.max_bytes:,} this checkpoint can be"
                )
            validator = response.headers.get("ETag") or response.headers.get("Last-Modified")
            _write_meta(part, {"url": url, "validator": validator or ""})
            self._stream(response, part, offset, total, name, url)
        return None

    def _stream(
        self, response: Any, part: Path, offset: int, total: int | None, name: str, url: str
    ) -> None:
        part.parent.mkdir(parents=True, exist_ok=True)
        done = offset
        self.progress.start(name, total, done)
        try:
            with open(part, "ab" if offset else "wb") as out:
                while True:
                    try:
                        block = response.read(CHUNK)
                    except (http.client.HTTPException, OSError) as error:
                        raise _Dropped(_reason(error)) from None
                    if not block:
                        break
                    done += len(block)
                    if done > self.max_bytes:
                        out.close()
                        discard_part(part)
                        raise DownloadError(
                            f"{url}: more than {self.max_bytes:,} bytes; not this checkpoint"
                        )
                    out.write(block)
                    self.progress.advance(done)
        finally:
            self.progress.end()
        if total is not None and done < total:
            raise _Dropped(f"{done:,} of {total:,} bytes arrived")
        if total is not None and done > total:
            discard_part(part)
            raise DownloadError(f"{url}: {done:,} bytes arrived where {total:,} were announced")

    def _confirmation(self, response: Any, url: str) -> str:
        """The URL behind Drive's "can't scan for viruses" page; any other page is an error."""
        page = response.read(MAX_PAGE).decode("utf-8", "replace")
        follow = confirmation_url(page, response.geturl() or url)
        if follow is None:
            for cookie in self.cookies:
                if cookie.name.startswith("download_warning"):
                    return _with_query(url, confirm=cookie.value)
            title = re.search(r"<title>(.*?)</title>", page, re.I | re.S)
            shown = f" ({title.group(1).strip()[:80]})" if title else ""
            raise DownloadError(
                f"{url}: the server sent a web page{shown}, not the file (the link may need a "
                "browser or a login, or it has expired)"
            )
        return follow

    def _read_page(self, url: str) -> tuple[str, str]:
        try:
            with self.opener.open(url, timeout=self.timeout) as response:
                return response.read(MAX_PAGE).decode("utf-8", "replace"), response.geturl()
        except urllib.error.HTTPError as error:
            raise DownloadError(f"{url}: HTTP {error.code} {error.reason}") from None
        except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as error:
            raise DownloadError(f"{url}: {_reason(error)}") from None

    def _copy_local(self, url: str, part: Path, name: str) -> str:
        path = Path(urllib.request.url2pathname(urlsplit(url).path))
        if not path.is_file():
            raise DownloadError(f"{url}: no such file")
        size = path.stat().st_size
        if size > self.max_bytes:
            raise DownloadError(f"{path}: {size:,} bytes, more than this checkpoint can be")
        part.parent.mkdir(parents=True, exist_ok=True)
        self.progress.start(name or path.name, size, 0)
        try:
            with open(path, "rb") as source, open(part, "wb") as out:
                shutil.copyfileobj(source, out, CHUNK)
        except OSError as error:
            raise DownloadError(f"{path}: {_reason(error)}") from None
        finally:
            self.progress.end()
        _write_meta(part, {"url": url, "validator": ""})
        return url


class _Dropped(Exception):
    """A transfer stopped short; the part file is kept and the download resumed."""


def confirmation_url(page: str, base: str) -> str | None:
    """The download URL behind a Google Drive warning page: its download form (action and
    hidden fields) or a link carrying ``confirm=``; None for any other page."""
    links = _Links()
    links.feed(page)
    for action, fields in links.forms:
        if "confirm" in fields or "uuid" in fields:
            target = urljoin(base, action or base)
            if urlsplit(target).scheme in ("http", "https"):
                return target + ("&" if "?" in target else "?") + urlencode(fields)
    for href, _text in links.anchors:
        if "confirm=" in href:
            target = urljoin(base, href)
            if urlsplit(target).scheme in ("http", "https"):
                return target
    return None


class _Links(HTMLParser):
    """Forms (action, hidden fields) and anchors (href, text) of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[tuple[str, dict[str, str]]] = []
        self.anchors: list[tuple[str, str]] = []
        self._anchor: list[str] | None = None
        self._href = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append((values.get("action", ""), {}))
        elif tag == "input" and self.forms and values.get("name"):
            if values.get("type", "text").lower() in ("hidden", "submit") and values.get("value"):
                self.forms[-1][1][values["name"]] = values["value"]
        elif tag == "a":
            self._href, self._anchor = values.get("href", ""), []

    def handle_data(self, data: str) -> None:
        if self._anchor is not None:
            self._anchor.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._anchor is not None:
            self.anchors.append((self._href, "".join(self._anchor)))
            self._anchor = None


def _content_range_start(value: str) -> int | None:
    match = re.match(r"bytes\s+(\d+)-", value.strip())
    return int(match.group(1)) if match else None


def _content_range_total(value: str) -> int | None:
    match = re.search(r"/(\d+)\s*$", value.strip())
    return int(match.group(1)) if match else None


def _meta_path(part: Path) -> Path:
    return part.with_name(part.name + ".json")


def _read_meta(part: Path) -> dict[str, Any]:
    try:
        value = json.loads(_meta_path(part).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _write_meta(part: Path, meta: dict[str, Any]) -> None:
    part.parent.mkdir(parents=True, exist_ok=True)
    _meta_path(part).write_text(json.dumps(meta), encoding="utf-8")


def discard_part(part: Path) -> None:
    """Remove a part file and its note (a bad or unresumable transfer)."""
    for path in (part, _meta_path(part)):
        try:
            os.remove(path)
        except FileNotFoundError:
            pass


def _size(part: Path) -> str:
    return f"{part.stat().st_size:,} bytes" if part.exists() else "nothing"


def _reason(error: BaseException) -> str:
    """One line for a network error (``URLError`` wraps the socket's)."""
    reason = getattr(error, "reason", None)
    if isinstance(reason, BaseException):
        error = reason
    text = str(reason if isinstance(reason, str) else error).strip()
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
