"""A mirror of the npm registry and the PyPI JSON API on 127.0.0.1 that serves the real
answers recorded in ``tests/data/registry`` (and whatever a test adds: a canned status
and body, to play a hostile registry), counting every request it is asked."""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.fake_pypi import serve

RECORDED = Path(__file__).parent / "data" / "registry"


class RecordedRegistry:
    def __init__(self) -> None:
        self.raw: dict[str, tuple[int, bytes]] = {}  # path -> canned status and body
        self.requests: list[str] = []
        self._lock = threading.Lock()
        self.url = ""

    @property
    def npm_url(self) -> str:
        return self.url.removesuffix("/pypi") + "/npm"

    @property
    def pypi_url(self) -> str:
        return self.url

    def answer(self, path: str) -> tuple[int, bytes]:
        with self._lock:
            self.requests.append(path)
        if path in self.raw:
            return self.raw[path]
        parts = path.strip("/").split("/")
        if parts[0] == "npm" and len(parts) == 3:
            name = urllib.parse.unquote(parts[1]).replace("/", "%2f")
            found = RECORDED / "npm" / name / f"{urllib.parse.unquote(parts[2])}.json"
        elif parts[0] == "pypi" and len(parts) == 4 and parts[3] == "json":
            found = RECORDED / "pypi" / parts[1] / f"{parts[2]}.json"
        else:
            return 404, b'{"error": "not found"}'
        if ".." in found.parts or not found.is_file():
            return 404, b'{"error": "not found"}'
        return 200, found.read_bytes()


@contextmanager
def recorded_registry() -> Iterator[RecordedRegistry]:
    with serve(RecordedRegistry()) as mirror:  # type: ignore[arg-type]
        yield mirror  # type: ignore[misc]


def npm_document(name: str, version: str) -> dict[str, object]:
    """A recorded npm answer, as data (for tests that change one field)."""
    doc = json.loads((RECORDED / "npm" / name.replace("/", "%2f") / f"{version}.json")
                     .read_text())
    assert isinstance(doc, dict)
    return doc
