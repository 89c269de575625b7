"""A local stand-in for the PyPI JSON API (``/pypi/{name}/{version}/json``) on 127.0.0.1,
so licence lookups are tested without the network."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# What pypi.org says about releases that tests across the suite pin (abridged to the
# licence fields), so that a test about something else sees their real licences.
REAL_METADATA: dict[tuple[str, str], tuple[str, tuple[str, ...]]] = {
    ("requests", "2.32.3"): ("Apache-2.0",
                             ("License :: OSI Approved :: Apache Software License",)),
    # "BSD" is not SPDX and the classifier names no single licence: unknown, as in reality.
    ("jinja2", "2.10"): ("BSD", ("License :: OSI Approved :: BSD License",)),
}


class FakePyPI:
    def __init__(self) -> None:
        self.releases: dict[tuple[str, str], dict[str, Any]] = {}
        self.raw: dict[tuple[str, str], tuple[int, bytes]] = {}  # canned status + body
        self.delay: dict[tuple[str, str], float] = {}
        self.requests: list[str] = []
        self.url = ""

    def reset(self) -> None:
        self.releases.clear()
        self.raw.clear()
        self.delay.clear()
        self.requests.clear()
        for (name, version), (lic, classifiers) in REAL_METADATA.items():
            self.add(name, version, license=lic, classifiers=classifiers)

    def add(self, name: str, version: str, *, license_expression: str | None = None,
            license: str | None = None, classifiers: tuple[str, ...] = ()) -> None:
        info: dict[str, Any] = {
            "name": name, "version": version, "license": license,
            "classifiers": list(classifiers), "summary": "fixture",
        }
        if license_expression is not None:
            info["license_expression"] = license_expression
        self.releases[(name, version)] = {"info": info, "urls": [], "vulnerabilities": []}

    def answer(self, path: str) -> tuple[int, bytes]:
        self.requests.append(path)
        parts = path.strip("/").split("/")
        if len(parts) != 4 or parts[0] != "pypi" or parts[3] != "json":
            return 404, b'{"message": "Not Found"}'
        key = (parts[1], parts[2])
        if key in self.delay:
            time.sleep(self.delay[key])
        if key in self.raw:
            return self.raw[key]
        if key in self.releases:
            return 200, json.dumps(self.releases[key]).encode()
        return 404, b'{"message": "Not Found"}'


@contextmanager
def serve(fake: FakePyPI) -> Iterator[FakePyPI]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, body = fake.answer(self.path)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/pypi"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
