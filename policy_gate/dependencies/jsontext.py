"""JSON files of the scanned tree (lockfiles, package.json), read strictly.

``json.loads`` raises more than ``JSONDecodeError`` on hostile input (RecursionError on deep
nesting, ValueError on a number of more digits than Python converts), and it accepts
``\\ud800``: a string that is not Unicode, which then breaks every hash, report and
terminal it reaches. Here all of that is one ValueError with a one-line reason.
"""

from __future__ import annotations

import json
import re
from typing import Any

# A \u escape in the surrogate range: legal in pairs (astral characters), never alone.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def loads(text: str) -> Any:
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
        except (UnicodeEncodeError, RecursionError):
            raise ValueError("a \\u escape names half a character (a lone surrogate)") from None
    return doc
