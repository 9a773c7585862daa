"""A local HTTP server on 127.0.0.1 that serves stand-in checkpoints the ways weight hosts do.

Routes: ``/files/<name>`` (Range requests, ETag; can drop the connection mid-file or ignore
Range), ``/drive/<name>`` (a Google-Drive-style "can't scan this file for viruses" page whose
form leads to the file), ``/folder`` (a Drive-folder-style listing of every file),
``/login`` (an HTML page where a file was expected). Every request is logged with its Range
header, so tests can count what a fetch asked for.
"""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class ServerState:
    files: dict[str, bytes] = field(default_factory=dict)
    drop_after: dict[str, list[int]] = field(default_factory=dict)  # per request, in order
    ignore_range: bool = False
    log: list[tuple[str, str]] = field(default_factory=list)  # (path with query, Range)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler(BaseHTTPRequestHandler):
    state: ServerState  # set on the subclass made per server

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        with self.state.lock:
            self.state.log.append((self.path, self.headers.get("Range", "")))
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        if parts.path.startswith("/files/"):
            return self._file(parts.path[len("/files/") :])
        if parts.path.startswith("/drive/"):
            name = parts.path[len("/drive/") :]
            if query.get("confirm") == ["t"] and query.get("uuid") == ["u-123"]:
                return self._file(name)
            return self._page(_drive_warning(f"http://{self.headers['Host']}{parts.path}", name))
        if parts.path == "/folder":
            links = "".join(
                f'<div class="flip-entry"><a href="/files/{n}"><div class="flip-entry-title">'
                f"{n}</div></a></div>"
                for n in sorted(self.state.files)
            )
            return self._page(f"<html><body>{links}</body></html>")
        if parts.path == "/login":
            return self._page("<html><head><title>Sign in</title></head><body>no</body></html>")
        self.send_error(404)

    def _file(self, name: str) -> None:
        data = self.state.files.get(name)
        if data is None:
            return self.send_error(404)
        etag = '"' + hashlib.sha256(data).hexdigest()[:16] + '"'
        start = 0
        wanted = re.match(r"bytes=(\d+)-$", self.headers.get("Range", ""))
        if wanted and not self.state.ignore_range:
            start = int(wanted.group(1))
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", etag)
        self.end_headers()
        with self.state.lock:
            drops = self.state.drop_after.get(name)
            cut = drops.pop(0) if drops else None
        if cut is not None:
            self.wfile.write(body[:cut])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)

    def _page(self, html: str) -> None:
        body = html.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Set-Cookie", "NID=abc; Path=/")
        self.end_headers()
        self.wfile.write(body)


def _drive_warning(action: str, name: str) -> str:
    return (
        "<!DOCTYPE html><html><head><title>Google Drive - Virus scan warning</title></head>"
        f"<body><p>Google Drive can't scan {name} for viruses.</p>"
        f'<form id="download-form" action="{action}" method="get">'
        '<input type="submit" id="uc-download-link" value="Download anyway"/>'
        '<input type="hidden" name="id" value="FILEID"/>'
        '<input type="hidden" name="export" value="download"/>'
        '<input type="hidden" name="confirm" value="t"/>'
        '<input type="hidden" name="uuid" value="u-123"/></form></body></html>'
    )


class WeightsServer:
    """``with WeightsServer() as server: server.url("/files/x")``; stops by itself on exit."""

    def __init__(self) -> None:
        self.state = ServerState()
        handler = type("Handler", (_Handler,), {"state": self.state})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> WeightsServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)

    @property
    def base(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return self.base + path

    def requests(self, prefix: str = "") -> list[tuple[str, str]]:
        with self.state.lock:
            return [entry for entry in self.state.log if entry[0].startswith(prefix)]
