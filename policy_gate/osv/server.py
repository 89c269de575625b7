"""A small OSV-compatible query server over the offline advisory database.

Air-gapped sites cannot reach api.osv.dev, but pip-audit can be pointed at any endpoint
that answers OSV's ``POST /v1/query``. This serves an :class:`AdvisoryIndex`
(:mod:`policy_gate.advisories.database`, which loads and corrects the records) from
memory, on 127.0.0.1 only, for the length of one scan: ``POST /v1/query``,
``POST /v1/querybatch`` and ``GET /v1/vulns/{id}``, as osv.dev answers them.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast

from policy_gate.advisories.database import (
    AdvisoryDBError,
    AdvisoryIndex,
    rfc3339,
)

MAX_BODY_BYTES = 4 * 1024 * 1024
MAX_BATCH = 1000  # osv.dev's own limit per querybatch

__all__ = [
    "MAX_BATCH",
    "AdvisoryDBError",
    "AdvisoryIndex",
    "OSVServer",
    "rfc3339",
    "serve_advisories",
]


class _BadQuery(Exception):
    pass


def _package_query(index: AdvisoryIndex, query: object) -> list[dict[str, Any]]:
    if not isinstance(query, dict):
        raise _BadQuery("query is not an object")
    pkg = query.get("package")
    version = query.get("version")
    if not isinstance(pkg, dict):
        raise _BadQuery("only package queries are supported (no 'package' object)")
    name, ecosystem = pkg.get("name"), pkg.get("ecosystem")
    if "purl" in pkg and name is None:
        raise _BadQuery("purl queries are not supported; send name and ecosystem")
    if not isinstance(name, str) or not isinstance(ecosystem, str):
        raise _BadQuery("package needs string 'name' and 'ecosystem'")
    if version is not None and not isinstance(version, str):
        raise _BadQuery("'version' must be a string")
    return index.query(ecosystem, name, version)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    index: AdvisoryIndex


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: pip-audit sends one request per package
    # Headers and body go out in separate writes; with Nagle's algorithm on, the client's
    # delayed ACK then stalls every keep-alive response by ~40 ms.
    disable_nagle_algorithm = True
    server_version = "policy-gate-osv/1"

    def do_POST(self) -> None:
        index = cast(_Server, self.server).index
        try:
            length = int(self.headers.get("Content-Length") or "0")
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY_BYTES:
            self.close_connection = True
            self._send(413 if length > 0 else 411, _error("bad or missing Content-Length"))
            return
        body = self.rfile.read(length)
        try:
            payload = json.loads(body or b"null")
            route = self.path.split("?", 1)[0]
            if route == "/v1/query":
                vulns = _package_query(index, payload)
                self._send(200, {"vulns": vulns} if vulns else {})
            elif route == "/v1/querybatch":
                queries = payload.get("queries") if isinstance(payload, dict) else None
                if not isinstance(queries, list) or len(queries) > MAX_BATCH:
                    raise _BadQuery(f"'queries' must be a list of at most {MAX_BATCH}")
                results = []
                for q in queries:
                    found = _package_query(index, q)
                    results.append(
                        {"vulns": [{"id": v["id"], "modified": v.get("modified")} for v in found]}
                        if found else {}
                    )
                self._send(200, {"results": results})
            else:
                self._send(404, _error(f"no such endpoint: {route}", code=5))
        except (ValueError, _BadQuery) as exc:
            self._send(400, _error(str(exc)))

    def do_GET(self) -> None:
        index = cast(_Server, self.server).index
        route = self.path.split("?", 1)[0]
        if route.startswith("/v1/vulns/"):
            record = index.records.get(route.removeprefix("/v1/vulns/"))
            if record is not None:
                self._send(200, record)
                return
        self._send(404, _error("not found", code=5))

    def _send(self, status: int, payload: object) -> None:
        data = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: a scan's terminal output is the gate's, not an access log."""


def _error(message: str, code: int = 3) -> dict[str, object]:
    return {"code": code, "message": message}  # the shape osv.dev errors have


class OSVServer:
    """Serve an index on 127.0.0.1 at an ephemeral port, from a daemon thread."""

    def __init__(self, index: AdvisoryIndex, host: str = "127.0.0.1", port: int = 0) -> None:
        self.index = index
        self._httpd = _Server((host, port), _Handler)
        self._httpd.index = index
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def query_url(self) -> str:
        """What pip-audit's ``--osv-url`` wants."""
        return f"{self.base_url}/v1/query"

    def start(self) -> None:
        # shutdown() waits for the loop to look at its flag: every 0.05 s, not the default
        # 0.5 s that every scan would pay at the end
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="policy-gate-osv",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> OSVServer:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


@contextmanager
def serve_advisories(source: Path | str | AdvisoryIndex) -> Iterator[str]:
    """``--advisories PATH``: load the database, serve it for the block, yield the
    query URL to hand to pip-audit (``ScanContext.osv_url``)."""
    index = source if isinstance(source, AdvisoryIndex) else AdvisoryIndex.load(source)
    with OSVServer(index) as server:
        yield server.query_url
