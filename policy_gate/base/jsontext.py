"""JSON files of the scanned tree (lockfiles, package.json, coverage summaries).

``json.loads`` raises more than ``JSONDecodeError`` on hostile input (RecursionError on deep
nesting, ValueError on a number of more digits than Python converts); here all of that is
one ValueError with a one-line reason.

It also accepts ``\\ud800``: half a character (a lone surrogate), which then breaks every
hash, report and terminal it reaches. What to do with one depends on who else reads the
file. A lockfile is read by npm (node's ``JSON.parse`` accepts lone surrogates), so
refusing it would leave a file npm installs from unaudited: ``surrogates="replace"`` reads
it as node does and turns each lone surrogate into U+FFFD, refusing only the document
where that would merge two keys node keeps apart. Everything else refuses them.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

# A \u escape in the surrogate range: legal in pairs (astral characters), never alone.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_UTF8_BOM = "\ufeff"


def loads(text: str, *, surrogates: Literal["refuse", "replace"] = "refuse") -> Any:
    """The document, or ValueError (a JSONDecodeError, with its line, for bad syntax)."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError:
        raise
    except RecursionError:
        raise ValueError("nested too deeply") from None
    except ValueError as exc:  # e.g. an integer of more digits than Python converts
        raise ValueError(str(exc).splitlines()[0][:100]) from None
    if _SURROGATE_ESCAPE.search(text):  # rare: only then is the whole document checked
        try:
            json.dumps(doc, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            if surrogates == "refuse":
                raise ValueError("a \\u escape names half a character (a lone surrogate)"
                                 ) from None
            try:
                return _replace_surrogates(doc)
            except RecursionError:
                raise ValueError("nested too deeply") from None
        except RecursionError:
            raise ValueError("nested too deeply") from None
    return doc


def decode_like_node(data: bytes) -> str:
    """A file's text as npm and yarn read it: UTF-8, a leading BOM dropped, each invalid
    byte sequence replaced by U+FFFD (node's ``fs.readFile(path, 'utf8')``) rather than
    refused, so a lockfile they install from is never one the gate cannot read."""
    text = data.decode("utf-8", "replace")
    return text[1:] if text.startswith(_UTF8_BOM) else text


def _clean(text: str) -> str:
    """Each lone surrogate as U+FFFD; a proper pair stays the character it encodes."""
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def _replace_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return _clean(value)
    if isinstance(value, list):
        return [_replace_surrogates(v) for v in value]
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            clean = _clean(key)
            if clean in out:  # two keys node keeps apart would become one here
                raise ValueError("two keys differ only in lone surrogates (\\ud800...), "
                                 "which cannot be told apart once made readable")
            out[clean] = _replace_surrogates(item)
        return out
    return value
