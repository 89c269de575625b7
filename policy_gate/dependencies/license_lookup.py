"""Licences looked up in a package registry (npm, PyPI or a mirror of either), shared by
both ecosystems: one bounded HTTP GET of a JSON document, many of them at once with
bounded concurrency and a deadline, and a store of the answers on disk keyed by
ecosystem and ``name@version`` (a published version's licence does not change).

Every failure is an answer, never an exception and never a pass: offline, a timeout, an
HTTP error, an answer that is too large, not JSON, or about another package gives no
licence and a reason (``LicenseLookup.available`` False: the licence is *unresolved*).
Only answers the registry actually gave are stored; the store is the results cache's
(authenticated entries: a forged or damaged entry is a miss, so a poisoned cache
directory cannot turn a GPL package into MIT).
"""

from __future__ import annotations

import http.client
import json
import os
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from policy_gate import __version__
from policy_gate.base.digest import sha256_json

OFF = "off"  # a registry URL of "off": no lookups (every missing licence is unresolved)
DEFAULT_TIMEOUT = 15.0
MAX_LOOKUP_THREADS = 8
STORE_KIND = "licence-metadata"
_STORE_FORMAT = 1


@dataclass(frozen=True, slots=True)
class LicenseLookup:
    """What the metadata says: an SPDX expression (and where it came from), or None and
    why not."""

    license: str | None
    source: str = ""  # PyPI: "license_expression" | "license" | "classifiers"; npm: "registry"
    reason: str = ""  # when license is None
    available: bool = False  # the metadata was fetched (a None licence is then its fault)
    declared: str | None = None  # the licence as written, when it is not SPDX


class MetadataStore(Protocol):
    """Where answers are kept between runs (``policy_gate.cache.ResultsCache`` is one)."""

    def get(self, kind: str, key: str) -> Any | None: ...

    def put(self, kind: str, key: str, payload: Any) -> None: ...


def check_base_url(base: str, what: str) -> str:
    """A registry base URL without its trailing slash. Raises ValueError unless http(s)."""
    if urllib.parse.urlsplit(base).scheme not in ("http", "https"):
        raise ValueError(f"the {what} URL must be http(s) (or '{OFF}'), not {base!r}")
    return base.rstrip("/")


_LOCAL = threading.local()  # each lookup thread's open connections, by (scheme, host)


def fetch_json(url: str, timeout: float, limit: int) -> tuple[Any, str, int | None]:
    """(document, "", 200) or (None, why not, HTTP status or None) for one GET of ``url``,
    reading at most ``limit`` bytes of the answer. Each thread keeps its connection to a
    registry open between requests: a TLS handshake costs more than the answer, hundreds
    of times per lockfile. Through a proxy (``https_proxy``), urllib's own way."""
    parts = urllib.parse.urlsplit(url)
    base = f"{parts.scheme}://{parts.netloc}"
    try:
        if urllib.request.getproxies() and not urllib.request.proxy_bypass(parts.hostname or ""):
            status, body = _via_urllib(url, timeout, limit)
        else:
            status, body = _kept_alive(parts, timeout, limit)
    except TimeoutError:
        return None, f"{base} did not answer within {timeout:.0f}s", None
    except urllib.error.URLError as exc:
        return None, f"cannot reach {base} ({exc.reason})", None
    except (OSError, ValueError, http.client.HTTPException) as exc:
        return None, f"cannot reach {base} ({exc or type(exc).__name__})", None
    if status != 200:
        return None, f"{base} answered HTTP {status}", status
    if len(body) > limit:
        return None, f"{base}'s answer is implausibly large (over {limit} bytes)", 200
    try:
        return json.loads(body), "", 200
    except (ValueError, RecursionError):
        return None, f"{base} did not answer JSON", 200


_HEADERS = {"Accept": "application/json", "User-Agent": f"policy-gate/{__version__}"}


def _kept_alive(parts: urllib.parse.SplitResult, timeout: float,
                limit: int) -> tuple[int, bytes]:
    """GET over this thread's open connection to the host (a new one if it was closed)."""
    pool: dict[tuple[str, str], http.client.HTTPConnection] = getattr(_LOCAL, "pool", {})
    _LOCAL.pool = pool
    key = (parts.scheme, parts.netloc)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    for attempt in (1, 2):
        conn = pool.get(key)
        if conn is None:
            kind = (http.client.HTTPSConnection if parts.scheme == "https"
                    else http.client.HTTPConnection)
            conn = pool[key] = kind(parts.netloc, timeout=max(0.1, timeout))
        conn.timeout = max(0.1, timeout)
        if conn.sock is not None:
            conn.sock.settimeout(conn.timeout)
        try:
            conn.request("GET", path or "/", headers=_HEADERS)
            response = conn.getresponse()
            body = response.read(limit + 1)
            if len(body) > limit or response.will_close:
                conn.close()
                del pool[key]
            return response.status, body
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            conn.close()
            del pool[key]
            if attempt == 2:  # a fresh connection failed too
                raise
        except BaseException:
            conn.close()
            del pool[key]
            raise
    raise AssertionError("unreachable")


def _via_urllib(url: str, timeout: float, limit: int) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=_HEADERS)  # noqa: S310 - http(s) checked
    try:
        with urllib.request.urlopen(request, timeout=max(0.1, timeout)) as response:  # noqa: S310
            return int(response.status), response.read(limit + 1)
    except urllib.error.HTTPError as exc:
        return exc.code, b""


class Registry(Protocol):
    """One ecosystem's registry: where a release's metadata is, and its licence in it."""

    ecosystem: str
    base_url: str
    timeout: float

    def license(self, name: str, version: str, timeout: float) -> LicenseLookup: ...


class RegistryClient:
    """Licence lookups against one registry (a ``Registry``), each release asked once for
    the life of the object; safe to call from several threads. A subclass says where a
    release's document is (``url``), how the registry names a release (``release``) and
    what licence the document declares (``read``)."""

    ecosystem = ""
    what = ""  # the registry, as errors name it
    url_env = ""  # the environment variable naming a mirror
    default_url = ""
    max_bytes = 0  # the largest answer read

    def __init__(self, base_url: str | None = None, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.base_url = check_base_url(
            base_url or os.environ.get(self.url_env) or self.default_url, self.what)
        self.timeout = timeout
        self._seen: dict[tuple[str, str], LicenseLookup] = {}
        self._lock = threading.Lock()

    def url(self, name: str, version: str) -> str:
        raise NotImplementedError

    def release(self, name: str, version: str) -> str:
        raise NotImplementedError

    def read(self, document: Any, name: str, version: str) -> LicenseLookup:
        raise NotImplementedError

    def license(self, name: str, version: str, timeout: float | None = None) -> LicenseLookup:
        with self._lock:
            seen = self._seen.get((name, version))
        if seen is not None:
            return seen
        found = self._lookup(name, version, self.timeout if timeout is None else timeout)
        with self._lock:
            self._seen[(name, version)] = found
        return found

    def _lookup(self, name: str, version: str, timeout: float) -> LicenseLookup:
        document, why, status = fetch_json(self.url(name, version), timeout, self.max_bytes)
        if status == 404:
            return LicenseLookup(None, reason=f"{self.base_url} has no release "
                                 f"{self.release(name, version)} (HTTP 404)")
        if document is None:
            return LicenseLookup(None, reason=why)
        return self.read(document, name, version)


@dataclass(frozen=True)
class Resolved:
    """Lookups of many releases: the answers, and how many came from the store."""

    answers: Mapping[tuple[str, str], LicenseLookup]
    from_store: frozenset[tuple[str, str]] = frozenset()


def resolve_all(
    registry: Registry,
    pins: Sequence[tuple[str, str]],
    *,
    deadline: float,
    store: MetadataStore | None = None,
    workers: int = MAX_LOOKUP_THREADS,
) -> Resolved:
    """The licence of every (name, version) in ``pins``: from the store when it has the
    answer, else from the registry (at most ``workers`` requests at once, none started
    after ``deadline``, a ``time.monotonic()`` value)."""
    answers: dict[tuple[str, str], LicenseLookup] = {}
    missing: list[tuple[str, str]] = []
    for pin in dict.fromkeys(pins):
        stored = _stored(store, registry.ecosystem, pin)
        if stored is not None:
            answers[pin] = stored
        else:
            missing.append(pin)
    from_store = frozenset(answers)
    if missing:
        fetched = _fetch_all(registry, missing, deadline, max(1, min(workers, len(missing))))
        for pin, found in fetched.items():
            answers[pin] = found
            if found.available and store is not None:
                _keep(store, registry.ecosystem, pin, found)
    return Resolved(answers, from_store)


def _fetch_all(registry: Registry, pins: Sequence[tuple[str, str]], deadline: float,
               workers: int) -> dict[tuple[str, str], LicenseLookup]:
    def one(pin: tuple[str, str]) -> LicenseLookup:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return LicenseLookup(None, reason="the licences scanner ran out of time")
        return registry.license(*pin, timeout=min(registry.timeout, remaining))

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="licence") as pool:
        return dict(zip(pins, pool.map(one, pins), strict=True))


def _key(ecosystem: str, pin: tuple[str, str]) -> str:
    # the gate's version too: a newer gate may read the same metadata better
    return sha256_json([STORE_KIND, _STORE_FORMAT, __version__, ecosystem, *pin])


def _stored(store: MetadataStore | None, ecosystem: str,
            pin: tuple[str, str]) -> LicenseLookup | None:
    """A stored answer, only if it has exactly the shape this module writes."""
    if store is None:
        return None
    data = store.get(STORE_KIND, _key(ecosystem, pin))
    if not isinstance(data, dict) or set(data) != set(_FIELDS):
        return None
    if not all(isinstance(data[k], t) or (data[k] is None and k in _OPTIONAL)
               for k, t in _FIELDS.items()):
        return None
    if not data["available"]:
        return None  # only answers the registry gave are ever stored
    return LicenseLookup(**data)


_FIELDS: dict[str, type] = {"license": str, "source": str, "reason": str,
                            "available": bool, "declared": str}
_OPTIONAL = frozenset({"license", "declared"})


def _keep(store: MetadataStore, ecosystem: str, pin: tuple[str, str],
          found: LicenseLookup) -> None:
    try:
        store.put(STORE_KIND, _key(ecosystem, pin), asdict(found))
    except OSError:
        return  # a full or read-only disk costs the next run a lookup, nothing more
