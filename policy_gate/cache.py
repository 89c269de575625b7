"""The results cache: what a scanner said about content it has already seen.

A directory (``--cache-dir``; ``actions/cache`` can keep it between runs) of entries, each
addressed by a SHA-256 key over everything the answer depends on:

* the entry format and policy-gate's version (the adapters that parse the tool's output);
* the scanner, the tool's version, the scanner's settings from the policy (options, file
  size limit) and what else the scanner names (semgrep: the bytes of every rule file;
  the audits: the bytes of the advisory database; the licence check: the policy's
  licence section; card-number hashing: a digest of its key);
* and the content: for a scanner whose answer about a file depends on that file alone
  (``Scanner.file_local``) one entry per file, keyed by its path and SHA-256, so a change
  to one file rescans that file only; for the others one entry per run, keyed by the path
  and SHA-256 of every file the scanner reads (``Scanner.cache_files``: its targets and
  what they pull in, such as ``-r`` includes and the ``package.json`` beside a lockfile),
  hashed whole whatever the policy's file size limit.

A scanner that depends on more than it can name (an online advisory service; coverage
reports that describe other files) says so with ``Scanner.cacheable`` and always runs.

The cache is never trusted from the tree under scan: a directory inside the scanned tree,
the workspace or its git repository is refused (``CacheError``, exit 2). Every entry is
authenticated: an HMAC-SHA256, under a key no pull request can read or commit
(``POLICY_GATE_CACHE_KEY``, or a private key file beside the cache directory), over the
entry's kind, its key (which binds the content digests) and its payload. An entry that
fails the check (damaged, forged, or written under another key: a poisoned
``actions/cache``) is a miss, never a result, and is counted in the report.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
import json
import os
import secrets
import stat
import tempfile
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from policy_gate.advisories.database import documents
from policy_gate.base.digest import sha256_json, tree_digest
from policy_gate.base.git import work_tree_top
from policy_gate.base.process import find_tool
from policy_gate.base.treefile import TreeFileError, read_tree_file
from policy_gate.exit_codes import EXIT_INTERNAL, EXIT_USAGE
from policy_gate.findings import Confidence, DependencyInfo, Finding, SecretInfo, Severity, Source
from policy_gate.packages import Package
from policy_gate.results import CacheUse, DatabaseInfo, ScanOutput
from policy_gate.scanners.interface import ScanContext, Scanner

# 2: authenticated entries (a header line with the seal, then the payload); 3: findings
# carry columns (an entry without them would give a region without them)
FORMAT = 3

# What authenticates the entries, from the environment (CI secrets), else a key file beside
# the cache: a shared secret (HMAC-SHA256: whoever verifies can also write), or an Ed25519
# key pair (PEM): runs of the protected branch sign with the private key, pull requests get
# only the public key and can read the cache but never add to it.
KEY_ENV = "POLICY_GATE_CACHE_KEY"
SIGNING_KEY_ENV = "POLICY_GATE_CACHE_SIGNING_KEY"
VERIFY_KEY_ENV = "POLICY_GATE_CACHE_VERIFY_KEY"
MIN_KEY_CHARS = 32
KEY_FILE_BYTES = 32
# Domain separation: entries of no other format or program verify.
_SEAL_LABEL = b"policy-gate results cache, format 2"
# An entry is read whole; none the gate writes comes near this.
MAX_ENTRY_BYTES = 512 * 1024 * 1024
WHERE_INSTEAD = (
    "keep it outside the repository, e.g. ~/.cache/policy-gate/<repository>, or in GitHub "
    "Actions under ${{ runner.temp }}/_github_home (docs/caching.md)"
)


class CacheError(Exception):
    """A cache directory or key the gate will not trust (exit 2), or a cache directory it
    cannot use (``code`` 3: the environment's fault); the message says why and what to do
    instead."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


class Seal:
    """Authenticates entries with HMAC-SHA256 under a shared secret."""

    scheme = "hmac-sha256"
    writable = True

    def __init__(self, key: bytes) -> None:
        self._key = key

    def make(self, message: bytes) -> str:
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def check(self, message: bytes, seal: str) -> bool:
        return hmac.compare_digest(seal, self.make(message))


class SignatureSeal(Seal):
    """Authenticates entries with Ed25519 signatures: with the private key it signs (and
    verifies); with the public key alone it only verifies, and nothing is written."""

    scheme = "ed25519"

    def __init__(self, public: Any, private: Any | None = None) -> None:
        self._public, self._private = public, private
        self.writable = private is not None

    def make(self, message: bytes) -> str:
        if self._private is None:
            raise CacheError("this results cache is read-only (only a verify key was given)")
        return str(self._private.sign(message).hex())

    def check(self, message: bytes, seal: str) -> bool:
        from cryptography.exceptions import InvalidSignature

        try:
            self._public.verify(bytes.fromhex(seal), message)
        except (InvalidSignature, ValueError):
            return False
        return True


class ResultsCache:
    """A directory of content-addressed, authenticated entries; every method is safe from
    many threads (each entry is its own file, replaced atomically).

    ``seal`` authenticates the entries (see :func:`open_cache`, which also checks where the
    directory is); without one, a random key of this instance: nothing it did not write
    itself verifies."""

    def __init__(self, directory: Path, seal: Seal | None = None) -> None:
        self.directory = directory
        self.root = directory / f"v{FORMAT}"
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.seal = seal if seal is not None else Seal(secrets.token_bytes(KEY_FILE_BYTES))
        self.store_error = ""  # why an answer could not be stored (the first reason)
        # Content digests of this run, shared by every scanner that reads the same file.
        self._digests: dict[tuple[Path, int | None], str | None] = {}
        self._lock = threading.Lock()

    def digest(self, path: Path, limit: int | None) -> str | None:
        """SHA-256 of a file of the tree: of at most ``limit`` bytes, or (None) whole."""
        with self._lock:
            if (path, limit) in self._digests:
                return self._digests[(path, limit)]
        value = file_digest(path, limit)
        with self._lock:
            self._digests[(path, limit)] = value
        return value

    def _path(self, kind: str, key: str) -> Path:
        return self.root / kind / key[:2] / f"{key}.json"

    @staticmethod
    def _message(kind: str, key: str, body: bytes) -> bytes:
        """What is sealed: the entry's kind, its key (over the content digests) and its
        payload, so an entry answers for exactly one question."""
        return b"\0".join((_SEAL_LABEL, kind.encode(), key.encode(), body))

    def get(self, kind: str, key: str, use: CacheUse | None = None) -> Any | None:
        """The payload stored for (kind, key), or None: absent, or not written under this
        cache's key for exactly this kind and key (then counted in ``use.rejected``). The
        payload is parsed only once it is authenticated."""
        try:
            data = read_tree_file(self._path(kind, key), MAX_ENTRY_BYTES)
        except TreeFileError as exc:
            if not exc.missing:
                _reject(use)
            return None
        head, _, body = data.partition(b"\n")
        try:
            header = json.loads(head)
            seal = header.get("seal") if isinstance(header, dict) else None
            if (isinstance(seal, str) and header.get("scheme") == self.seal.scheme
                    and self.seal.check(self._message(kind, key, body), seal)):
                return json.loads(body)
        except (ValueError, TypeError, RecursionError):  # TypeError: a non-ASCII seal
            pass
        _reject(use)
        return None

    def put(self, kind: str, key: str, payload: Any) -> None:
        """Store an entry, sealed; nothing when the cache is read-only (a verify key)."""
        if not self.seal.writable:
            return
        path = self._path(kind, key)
        body = json.dumps(payload, separators=(",", ":")).encode()
        header = {"format": FORMAT, "kind": kind, "key": key, "scheme": self.seal.scheme,
                  "seal": self.seal.make(self._message(kind, key, body))}
        try:  # a damaged or full cache costs the next run time, never this run its result
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        except OSError as exc:
            self.store_error = self.store_error or f"{exc.strerror or exc}: {exc.filename}"
            return
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(json.dumps(header, separators=(",", ":")).encode() + b"\n" + body)
            Path(tmp).replace(path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def advisory_info(self, digest: str) -> DatabaseInfo | None:
        """What the advisory database with this content says about itself (its age and
        what each ecosystem holds decide whether it may be used at all), without loading
        it."""
        data = self.get("advisory-info", digest)
        if not isinstance(data, dict):
            return None
        try:
            return DatabaseInfo.from_json(data)
        except (KeyError, TypeError, ValueError):
            return None  # e.g. an entry of an older version: load the database again

    def put_advisory_info(self, digest: str, info: DatabaseInfo) -> None:
        self.put("advisory-info", digest, info.to_json())

    def database_digest(self, path: Path) -> str:
        """The advisory database's content digest, read again only when a file in it
        changed (name, size, mtime or ctime): hashing 14 MB of YAML would otherwise be
        most of a warm run."""
        try:
            stats = _stat_listing(path)
        except OSError:
            return tree_digest(documents(path))  # let reading it fail, or succeed, as usual
        key = sha256_json(["advisory-db", str(path.resolve()), stats])
        known = self.get("advisory-db", key)
        if isinstance(known, str) and len(known) == 64:
            return known
        digest = tree_digest(documents(path))
        self.put("advisory-db", key, digest)
        return digest

    def tool_version(self, scanner: Scanner, ctx: ScanContext) -> str:
        """The tool's version without starting it when the executable is unchanged since
        it was last asked (semgrep's `--version` alone costs ~1.5 CPU-s)."""
        exe = find_tool(scanner.executable) if scanner.executable else None
        if exe is None:
            return scanner.version(ctx)  # in-process, or missing: let it fail as usual
        try:
            real = Path(exe).resolve()
            st = real.stat()
        except OSError:
            return scanner.version(ctx)
        key = sha256_json(["version", scanner.name, str(real), st.st_size, st.st_mtime_ns])
        known = self.get("version", key)
        if isinstance(known, str) and known:
            return known
        version = scanner.version(ctx)
        self.put("version", key, version)
        return version


@dataclass(frozen=True)
class _Keys:
    version: str
    base: str  # everything but the content
    targets: tuple[str, ...]
    digests: dict[str, str | None]  # target -> SHA-256 within the limit, None if unreadable
    run: str


def _keys(cache: ResultsCache, scanner: Scanner, ctx: ScanContext) -> _Keys:
    version = cache.tool_version(scanner, ctx)
    base = sha256_json({
        "format": FORMAT,
        "gate": gate_digest(),
        "scanner": scanner.name,
        "version": version,
        "options": dict(ctx.settings.options),
        "inputs": dict(scanner.cache_inputs(ctx)),
        "advisories": ctx.advisory_digest,
    })
    targets = scanner.targets(ctx.fileset)
    limit = ctx.max_file_bytes
    digests = {rel: cache.digest(ctx.root / rel, limit) for rel in targets}
    inputs: dict[str, Any] = dict(digests)
    if not scanner.file_local:
        # A whole-run answer depends on every file the scanner reads (includes, the
        # package.json beside a lockfile), each read up to the scanner's own limit, which
        # may exceed the policy's: hashed whole. And on what else of the tree it sees: an
        # include that is excluded, a link or unreadable is reported as such.
        files = dict.fromkeys((*targets, *scanner.cache_files(ctx)))
        inputs = {rel: cache.digest(ctx.root / rel, None) for rel in files}
        fs = ctx.fileset
        inputs["\0tree"] = [fs.excluded, fs.symlinks, fs.unreadable]
    run = sha256_json([base, sorted(inputs.items(), key=lambda kv: kv[0])])
    return _Keys(version, base, targets, digests, run)


def has_run(cache: ResultsCache, scanner: Scanner, ctx: ScanContext) -> bool:
    """Whether the whole answer for ``ctx`` is in the cache (then what it needs, such as
    the advisory database, need not be loaded)."""
    return cache.get("run", _keys(cache, scanner, ctx).run) is not None


def cached_scan(
    cache: ResultsCache, scanner: Scanner, ctx: ScanContext, use: CacheUse
) -> ScanOutput:
    """The scanner's answer for ``ctx``, from the cache where the inputs are unchanged and
    from the scanner for the rest; what the scanner says is stored for next time. Entries
    that failed authentication are said in a note (never stored with the answer)."""
    output = _answer(cache, scanner, ctx, use)
    if cache.store_error:
        output.notes = [*output.notes, (
            f"the results cache {cache.directory} could not store answers "
            f"({cache.store_error}); this scan is complete, the next is not faster: delete "
            "the cache directory and it is rebuilt"
        )]
    if use.rejected:
        output.notes = [*output.notes, (
            f"{use.rejected} results-cache entries failed authentication (written under "
            "another key, damaged or forged) and were not used: scanned again"
        )]
    return output


def _answer(
    cache: ResultsCache, scanner: Scanner, ctx: ScanContext, use: CacheUse
) -> ScanOutput:
    keys = _keys(cache, scanner, ctx)
    version, base, targets, digests, run_key = (
        keys.version, keys.base, keys.targets, keys.digests, keys.run
    )
    stored = cache.get("run", run_key, use)
    if stored is not None:
        try:
            output = decode_output(stored)
        except (KeyError, TypeError, ValueError):
            output = None
        if output is not None:
            use.run_from_cache = True
            use.files_from_cache = len(targets)
            return output
    if not scanner.file_local:
        output = scanner.scan(ctx)
        use.files_scanned = len(targets)
        cache.put("run", run_key, encode_output(output))
        return output

    file_keys = {rel: sha256_json([base, rel, d]) for rel, d in digests.items() if d}
    hits: dict[str, dict[str, Any]] = {}
    for rel, key in file_keys.items():
        entry = cache.get("file", key, use)
        if isinstance(entry, dict):
            hits[rel] = entry
    misses = tuple(rel for rel in targets if rel not in hits)
    if not misses and targets:
        new = ScanOutput([], version, 0, 0)  # every file known: the tool need not start
    else:
        new = scanner.scan(replace(ctx, fileset=ctx.fileset.only(misses)) if hits else ctx)
    use.files_from_cache, use.files_scanned = len(hits), len(misses)
    by_path: dict[str, list[Finding]] = {rel: [] for rel in misses}
    attributable = new.files_scanned == len(misses) - len(set(new.unread))
    for finding in new.findings:
        if finding.path not in by_path:
            attributable = False  # a finding about no file of this run: cannot be split up
            break
        by_path[finding.path].append(finding)
    if attributable:
        unread = set(new.unread)
        for rel in misses:
            if rel in file_keys:
                cache.put("file", file_keys[rel], {
                    "findings": [encode_finding(f) for f in by_path[rel]],
                    "read": rel not in unread,
                    "note": new.file_notes.get(rel),
                })
    try:
        from_cache = [decode_finding(f) for entry in hits.values() for f in entry["findings"]]
    except (KeyError, TypeError, ValueError):  # an entry of another shape: scan everything
        hits = {}
        new = scanner.scan(ctx)
        use.files_from_cache, use.files_scanned = 0, len(targets)
        from_cache = []
    output = ScanOutput(
        findings=[*from_cache, *new.findings],
        version=new.version,
        raw_results=new.raw_results + sum(len(f.sources) for f in from_cache),
        files_scanned=new.files_scanned + sum(1 for e in hits.values() if e.get("read")),
        notes=list(new.notes),
        inventory=list(new.inventory),
        not_checked=new.not_checked,
        examined=dict(new.examined),  # file-local scanners count files_scanned instead
        unread=(*new.unread, *(rel for rel, e in hits.items() if not e.get("read"))),
        file_notes={
            **{rel: e["note"] for rel, e in hits.items() if isinstance(e.get("note"), str)},
            **new.file_notes,
        },
    )
    if attributable:
        cache.put("run", run_key, encode_output(output))
    return output


@functools.cache
def gate_digest() -> str:
    """policy-gate's own code and data (adapters, rules): a changed adapter must not be
    answered from what the old one parsed, whatever the version number says."""
    package = Path(__file__).resolve().parent
    files = sorted(p for p in package.rglob("*") if p.is_file() and p.suffix != ".pyc")
    return tree_digest((str(p.relative_to(package)), p.read_bytes()) for p in files)


def summarise_file_notes(file_notes: Mapping[str, str]) -> list[str]:
    """'1212 binary files not scanned for secrets …': one note per kind, with a count."""
    return [f"{count} {text}" for text, count in sorted(Counter(file_notes.values()).items())]


def file_digest(path: Path, limit: int | None) -> str | None:
    """SHA-256 of a regular file of the tree (never through a link); None when it cannot be
    read within the limit, so that the scanner itself decides and reports on it. With no
    limit the file is hashed whole, as a stream."""
    if limit is not None:
        try:
            return hashlib.sha256(read_tree_file(path, limit)).hexdigest()
        except TreeFileError:
            return None
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return None
            return hashlib.file_digest(handle, "sha256").hexdigest()
        except OSError:
            return None


def _stat_listing(root: Path) -> list[tuple[str, int, int, int]]:
    """(relative name, size, mtime, ctime) of a file or of every file under a directory
    (links not followed), in a stable order."""
    def entry(path: Path, name: str) -> tuple[str, int, int, int]:
        st = path.lstat()
        return (name, st.st_size, st.st_mtime_ns, st.st_ctime_ns)

    if not root.is_dir():
        return [entry(root, root.name)]
    listing = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for filename in sorted(filenames):
            path = Path(dirpath, filename)
            listing.append(entry(path, path.relative_to(root).as_posix()))
    return listing


def _reject(use: CacheUse | None) -> None:
    if use is not None:
        use.rejected += 1


# --- where the cache may be, and its key -----------------------------------------------------


def open_cache(directory: Path, root: Path, env: Mapping[str, str] | None = None) -> ResultsCache:
    """The results cache for a scan of ``root``, after checking that no pull request can
    write it or know its key. Raises CacheError (exit 2)."""
    env = os.environ if env is None else env
    check_location(directory, root, env)
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise CacheError(
            f"the results cache {directory} cannot be created: {exc.strerror or exc}"
        ) from None
    seal = load_seal(directory, env)
    try:
        return ResultsCache(directory, seal)
    except OSError as exc:
        raise CacheError(
            f"the results cache {directory} is damaged ({exc.strerror or exc}: "
            f"{exc.filename}); delete it and the next run rebuilds it", EXIT_INTERNAL
        ) from None


METADATA_CACHE_ENV = "POLICY_GATE_METADATA_CACHE"


def metadata_cache(root: Path, env: Mapping[str, str] | None = None) -> ResultsCache | None:
    """Where registry answers (the licences of published versions) are kept when no
    results cache is given: ``POLICY_GATE_METADATA_CACHE`` (a directory, or ``off``), else
    ``$XDG_CACHE_HOME/policy-gate/metadata`` (``~/.cache/...``). Entries are authenticated
    like the results cache's; a place the gate will not trust (inside the tree) or cannot
    create means none: every answer is then looked up again."""
    env = os.environ if env is None else env
    chosen = env.get(METADATA_CACHE_ENV, "").strip()
    if chosen.lower() == "off":
        return None
    if chosen:
        directory = Path(chosen)
    else:
        base = env.get("XDG_CACHE_HOME", "").strip()
        home = Path(base) if base and Path(base).is_absolute() else Path.home() / ".cache"
        directory = home / "policy-gate" / "metadata"
    try:
        return open_cache(directory, root, env)
    except (CacheError, OSError, RuntimeError):  # RuntimeError: no home directory
        return None


def check_location(directory: Path, root: Path, env: Mapping[str, str]) -> None:
    """Refuse a cache directory inside what a pull request controls: the scanned tree, the
    workspace (``GITHUB_WORKSPACE``) or the git repository around the tree (a committed
    entry would be an answer for the tree's own files). Links are resolved first."""
    cache, tree = directory.resolve(), root.resolve()
    places = [("the scanned tree", tree)]
    if env.get("GITHUB_WORKSPACE"):
        places.append(("the workspace (GITHUB_WORKSPACE)", Path(env["GITHUB_WORKSPACE"]).resolve()))
    top = work_tree_top(tree)
    if top is not None:
        places.append(("the git repository", top))
    for name, place in places:
        if cache == place or place in cache.parents:
            raise CacheError(
                f"the results cache {directory} is inside {name} {place}, where a pull "
                f"request could commit forged scanner answers; {WHERE_INSTEAD}"
            )
    if cache in tree.parents:
        raise CacheError(
            f"the results cache {directory} contains the scanned tree {tree}; {WHERE_INSTEAD}"
        )


def key_path(directory: Path) -> Path:
    """The key file of a cache directory: beside it, never inside it (actions/cache saves
    and restores the directory, and so anything a poisoned cache brings), and outside the
    tree whenever the directory is (its parent is outside too)."""
    real = directory.resolve()
    return real.parent / f"{real.name}.key"


def load_seal(directory: Path, env: Mapping[str, str]) -> Seal:
    """What authenticates the entries: an Ed25519 key pair or a shared secret from the
    environment (CI secrets), else the cache's own key file, made on first use. Raises
    CacheError for a key that is malformed or that others may know; the message never
    shows a key."""
    secret = env.get(KEY_ENV, "").strip()
    signing = env.get(SIGNING_KEY_ENV, "").strip()
    verify = env.get(VERIFY_KEY_ENV, "").strip()
    if secret and (signing or verify):
        raise CacheError(f"give either {KEY_ENV} (a shared secret) or {SIGNING_KEY_ENV} / "
                         f"{VERIFY_KEY_ENV} (a key pair), not both")
    if signing or verify:
        return _signature_seal(signing, verify)
    if secret:
        if len(secret) < MIN_KEY_CHARS:
            raise CacheError(
                f"{KEY_ENV} is too short: give at least {MIN_KEY_CHARS} random characters "
                "(e.g. the output of `openssl rand -hex 32`, kept as a secret)"
            )
        return Seal(secret.encode("utf-8", "surrogateescape"))
    path = key_path(directory)
    try:
        return Seal(_read_key(path))
    except FileNotFoundError:
        _create_key(path)
    return Seal(_read_key(path))


def _signature_seal(signing: str, verify: str) -> SignatureSeal:
    """An Ed25519 seal from PEM keys (``openssl genpkey -algorithm ed25519``)."""
    try:
        from cryptography.hazmat.primitives.asymmetric import ed25519
        from cryptography.hazmat.primitives.serialization import (
            load_pem_private_key,
            load_pem_public_key,
        )
    except ImportError:
        raise CacheError(f"{SIGNING_KEY_ENV} / {VERIFY_KEY_ENV} need the 'cryptography' "
                         "package, which is not installed") from None
    private = public = None
    try:
        if signing:
            private = load_pem_private_key(signing.encode(), password=None)
        if verify:
            public = load_pem_public_key(verify.encode())
    except (ValueError, TypeError):
        name = SIGNING_KEY_ENV if signing and private is None else VERIFY_KEY_ENV
        raise CacheError(f"{name} is not a PEM-encoded key without a passphrase") from None
    if private is not None and not isinstance(private, ed25519.Ed25519PrivateKey):
        raise CacheError(f"{SIGNING_KEY_ENV} is not an Ed25519 private key")
    if public is not None and not isinstance(public, ed25519.Ed25519PublicKey):
        raise CacheError(f"{VERIFY_KEY_ENV} is not an Ed25519 public key")
    if private is not None:
        own = private.public_key()
        if public is not None and public != own:
            raise CacheError(f"{VERIFY_KEY_ENV} is not the public half of {SIGNING_KEY_ENV}")
        public = own
    return SignatureSeal(public, private)


def _create_key(path: Path) -> None:
    """A new random key, published atomically: a run that loses the race reads the
    winner's key, never a half-written one."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".key-")  # mode 0600
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_bytes(KEY_FILE_BYTES))
        with contextlib.suppress(FileExistsError):  # another run made it first: use theirs
            os.link(tmp, path)
    except OSError as exc:
        raise CacheError(
            f"the results cache's key file {path} cannot be created: {exc.strerror or exc}"
        ) from None
    finally:
        Path(tmp).unlink(missing_ok=True)


def _read_key(path: Path) -> bytes:
    """The key file's bytes, if only this user can have read or written it. Raises
    FileNotFoundError (make one) or CacheError."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise CacheError(f"the results cache's key file {path} cannot be read "
                         f"({exc.strerror or exc}); it must be a regular file, not a link"
                         ) from None
    try:
        info = os.fstat(fd)
        problem = ""
        if not stat.S_ISREG(info.st_mode):
            problem = "is not a regular file"
        elif info.st_uid != os.getuid():
            problem = "belongs to another user"
        elif info.st_mode & 0o077:
            problem = f"can be read or written by others (mode {stat.S_IMODE(info.st_mode):o})"
        elif info.st_size != KEY_FILE_BYTES:
            problem = f"is not a key the gate made ({info.st_size} bytes)"
        if problem:
            raise CacheError(
                f"the results cache's key file {path} {problem}: entries signed with a key "
                "others may know prove nothing; make it yours with mode 600, or delete it "
                "(a new key is made and the cache is rebuilt)"
            )
        return os.read(fd, KEY_FILE_BYTES)
    finally:
        os.close(fd)


# --- entries: ScanOutput, Finding and Package as JSON, losslessly ---------------------------


def encode_output(output: ScanOutput) -> dict[str, Any]:
    return {
        "findings": [encode_finding(f) for f in output.findings],
        "version": output.version,
        "raw_results": output.raw_results,
        "files_scanned": output.files_scanned,
        "notes": list(output.notes),
        "inventory": [_plain(p) for p in output.inventory],
        "not_checked": output.not_checked,
        "examined": dict(output.examined),
        "unread": list(output.unread),
        "file_notes": dict(output.file_notes),
    }


def decode_output(data: dict[str, Any]) -> ScanOutput:
    return ScanOutput(
        findings=[decode_finding(f) for f in data["findings"]],
        version=str(data["version"]),
        raw_results=int(data["raw_results"]),
        files_scanned=int(data["files_scanned"]),
        notes=[str(n) for n in data["notes"]],
        inventory=[_package(p) for p in data["inventory"]],
        not_checked=str(data["not_checked"]),
        examined={str(k): int(v) for k, v in data["examined"].items()},
        unread=tuple(str(u) for u in data["unread"]),
        file_notes={str(k): str(v) for k, v in data["file_notes"].items()},
    )


def encode_finding(finding: Finding) -> dict[str, Any]:
    data = _plain(finding)
    data["sources"] = [
        {
            **_plain(s),
            "severity": s.severity.name if s.severity is not None else None,
            "confidence": s.confidence.name if s.confidence is not None else None,
        }
        for s in finding.sources
    ]
    return data


def decode_finding(data: dict[str, Any]) -> Finding:
    values = dict(data)
    values["sources"] = tuple(
        Source(
            scanner=s["scanner"],
            rule_id=s["rule_id"],
            severity=Severity[s["severity"]] if s["severity"] is not None else None,
            confidence=Confidence[s["confidence"]] if s["confidence"] is not None else None,
            message=s["message"],
        )
        for s in data["sources"]
    )
    values["cwe"] = tuple(data["cwe"])
    if data["secret"] is not None:
        values["secret"] = SecretInfo(**data["secret"])
    if data["dependency"] is not None:
        dep = dict(data["dependency"])
        for name in ("fixed_versions", "aliases", "path", "packages"):
            if name in dep:
                dep[name] = tuple(dep[name])
        values["dependency"] = DependencyInfo(**dep)
    return Finding(**values)


def _package(data: dict[str, Any]) -> Package:
    return Package(**{**data, "path": tuple(data["path"])})


def _plain(obj: Any) -> dict[str, Any]:
    """A slotted dataclass's fields, nested dataclasses as dicts, tuples as lists."""
    out: dict[str, Any] = {}
    for f in fields(obj):
        value = getattr(obj, f.name)
        if hasattr(value, "__dataclass_fields__"):
            value = _plain(value)
        elif isinstance(value, tuple):
            value = list(value)
        out[f.name] = value
    return out


__all__ = [
    "CacheError",
    "ResultsCache",
    "Seal",
    "SignatureSeal",
    "cached_scan",
    "file_digest",
    "has_run",
    "open_cache",
    "summarise_file_notes",
]
