"""What a file of the scanned tree is, and how to read it as text.

Two questions every scanner that reads arbitrary files asks:

* **Is it code, configuration or a manifest?** (by its name). A file of that kind that a
  scanner could not analyse must fail a policy that stops when data is unavailable (M4a);
  only genuinely non-text assets (binary by content, not named as any of these) are
  graded lower (:func:`policy_gate.scanners.interface.unscanned_finding`).
* **What text does it hold?** detect-secrets reads UTF-8 only and silently drops anything
  else; the gate decodes what the files' own ecosystems decode -- a byte-order mark
  (UTF-8/16/32), UTF-16 without one (every other byte NUL), an encoding declared PEP 263
  style (``# -*- coding: latin-1 -*-``) or by an XML declaration -- and reads any other
  text with undecodable bytes replaced (U+FFFD), which keeps every ASCII secret intact.
  Line breaks are kept as they are, so line numbers match the file.
"""

from __future__ import annotations

import codecs
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from policy_gate.base.treefile import BINARY_SNIFF, is_binary

# Source code, by suffix (lower case).
SOURCE_SUFFIXES = frozenset({
    ".py", ".pyw", ".pyi", ".js", ".jsx", ".mjs", ".cjs", ".ts", ".tsx", ".mts", ".cts",
    ".java", ".kt", ".kts", ".scala", ".groovy", ".go", ".rb", ".php", ".cs", ".vb", ".fs",
    ".c", ".h", ".cc", ".cpp", ".cxx", ".hpp", ".m", ".mm", ".swift", ".rs", ".dart", ".lua",
    ".pl", ".pm", ".r", ".jl", ".ex", ".exs", ".erl", ".hs", ".clj", ".sh", ".bash", ".zsh",
    ".ksh", ".fish", ".ps1", ".psm1", ".bat", ".cmd", ".sql", ".html", ".htm", ".vue",
    ".svelte", ".astro", ".ejs", ".hbs", ".mustache", ".jinja", ".j2", ".tf", ".hcl",
    ".proto", ".graphql", ".gql", ".sol",
})
# Configuration and key material, by suffix.
CONFIG_SUFFIXES = frozenset({
    ".env", ".yml", ".yaml", ".json", ".json5", ".jsonc", ".toml", ".ini", ".cfg", ".conf",
    ".config", ".properties", ".xml", ".plist", ".tfvars", ".npmrc", ".yarnrc", ".pypirc",
    ".netrc", ".pgpass", ".htpasswd", ".pem", ".key", ".crt", ".cer", ".pub", ".ppk",
    ".lock",
})
# Configuration, manifests and lockfiles, by exact name (lower case).
CONFIG_NAMES = frozenset({
    "dockerfile", "containerfile", "makefile", "jenkinsfile", "procfile", "vagrantfile",
    "gemfile", "rakefile", "pipfile", "brewfile", "podfile", ".env", ".envrc", ".npmrc",
    ".yarnrc", ".pypirc", ".netrc", ".pgpass", ".htpasswd", ".gitconfig", ".git-credentials",
    ".s3cfg", ".boto", "credentials", "id_rsa", "id_dsa", "id_ecdsa", "id_ed25519",
    "go.mod", "go.sum", "package.resolved", "cartfile.resolved",
})
# Name prefixes: Dockerfile.prod, .env.local, requirements-dev.txt, pylock.web.toml …
CONFIG_PREFIXES = ("dockerfile", "containerfile", ".env.", "requirements", "constraints",
                   "pylock.")


def named_as_text(rel: str) -> bool:
    """Whether the file's name says it is source code, configuration (key material
    included) or a dependency manifest or lockfile: text a scanner must be able to read,
    whatever its bytes look like."""
    name = rel.rsplit("/", 1)[-1].lower()
    suffix = name[name.rfind("."):] if "." in name.lstrip(".") else ""
    return (
        suffix in SOURCE_SUFFIXES
        or suffix in CONFIG_SUFFIXES
        or name in CONFIG_NAMES
        or name.startswith(CONFIG_PREFIXES)
    )


def read_prefix(path: Path, size: int = BINARY_SNIFF) -> bytes | None:
    """The first ``size`` bytes of a regular file (never through a link, never blocking on
    a FIFO), or None when it cannot be read: enough to tell text from binary in a file
    too large to read whole."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return os.read(fd, size)
    except OSError:
        return None
    finally:
        os.close(fd)


def binary_asset(path: Path, rel: str) -> bool:
    """A genuinely non-text file: binary by content (its first block has a NUL byte and
    is not UTF-16 text) and not named as code, configuration or a manifest. A file that
    cannot be read is not one: what it is is unknown."""
    if named_as_text(rel):
        return False
    head = read_prefix(path)
    return head is not None and is_binary(head) and _utf16_shape(head) is None


@dataclass(frozen=True, slots=True)
class Text:
    """A file's content as UTF-8 bytes for the scanners, and how it was read."""

    data: bytes  # the file's own bytes when ``encoding`` is "utf-8"
    encoding: str  # "utf-8", or what the bytes were decoded from ("utf-16-le", "latin-1")
    how: str = ""  # "bom", "shape", "declared" or "lossy" when transcoded

    @property
    def transcoded(self) -> bool:
        return self.encoding != "utf-8" or bool(self.how)


_BOMS = (  # UTF-32 first: its little-endian mark starts with UTF-16's
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
)
# PEP 263 (and Emacs/Vim) coding declarations, in any language's line comment.
_CODING = re.compile(
    rb"^[ \t\f]*(?:#|//|/\*|--|;|%|<!--|\.\.|'|rem\b).*?coding[:=][ \t]*([-\w.]+)", re.I
)
_XML_DECL = re.compile(rb"^[ \t\r\n]*<\?xml[^>]*?\bencoding[ \t]*=[ \t]*[\"']([-\w.]+)[\"']")


def as_text(data: bytes, rel: str) -> Text | None:
    """The file's text, or None for a binary file (a NUL byte in its first block, no
    UTF-16/32 shape, and a name that does not say it is text)."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            if codec == "utf-8-sig" and _utf8(data):
                return Text(data, "utf-8")  # every tool reads it as it is
            return _transcode(data, codec, codec.replace("-sig", ""), "bom")
    if is_binary(data):
        shape = _utf16_shape(data[:BINARY_SNIFF])
        if shape is not None:
            return _transcode(data, shape, shape, "shape")
        if not named_as_text(rel):
            return None
    if _utf8(data):
        return Text(data, "utf-8")
    declared = _declared(data)
    if declared is not None:
        return declared
    return Text(data.decode("utf-8", "replace").encode("utf-8"), "utf-8", "lossy")


def _utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _transcode(data: bytes, codec: str, label: str, how: str) -> Text:
    text = data.decode(codec, "replace")
    return Text(text.encode("utf-8", "surrogatepass"), label, how)


def _utf16_shape(head: bytes) -> str | None:
    """'utf-16-le' / 'utf-16-be' when the block looks like UTF-16 text with no byte-order
    mark (Latin-script text: one byte of each pair NUL, the other almost never)."""
    pairs = len(head) // 2
    if pairs < 2:
        return None
    even = head[0 : 2 * pairs : 2].count(0)
    odd = head[1 : 2 * pairs : 2].count(0)
    if odd >= 0.7 * pairs and even <= 0.02 * pairs:
        return "utf-16-le"
    if even >= 0.7 * pairs and odd <= 0.02 * pairs:
        return "utf-16-be"
    return None


def _declared(data: bytes) -> Text | None:
    """The text in the encoding the file declares on its first two lines, if Python
    knows that text encoding and decoding it keeps every line break where it was."""
    head = data.split(b"\n", 2)[:2]
    match = _XML_DECL.match(data) or next(
        (m for m in (_CODING.match(line) for line in head) if m), None
    )
    if match is None:
        return None
    try:
        info = codecs.lookup(match.group(1).decode("ascii"))
        # bytes.decode refuses rot13, base64, zlib…: not how text is stored
        text = data.decode(info.name)
    except (LookupError, UnicodeDecodeError, ValueError, TypeError):
        return None
    if text.count("\n") != data.count(b"\n") or text.count("\r") != data.count(b"\r"):
        return None  # unicode_escape, utf-7 …: would move lines
    return Text(text.encode("utf-8", "surrogatepass"), info.name, "declared")
