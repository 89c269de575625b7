"""The licence of a pinned Python package, from metadata available without installing it:
the PyPI JSON API (``{base}/{name}/{version}/json``).

In order: ``info.license_expression`` (PEP 639); else ``info.license`` when it is a valid
SPDX expression; else the ``License ::`` trove classifiers mapped to SPDX ids (several
classifiers are read as a choice: ``A OR B``). Classifiers that name no single licence
(``BSD License``, ``GNU General Public License (GPL)``) are not guessed at. A lookup that
fails (offline, timeout, HTTP error, not JSON) gives no licence and a reason, which the
licence check reports as unknown: never as a pass.

The base URL is ``https://pypi.org/pypi`` unless the policy's ``licenses.pypi_url`` or
``POLICY_GATE_PYPI_URL`` names a mirror (any server answering the same JSON API, e.g. a
devpi or Artifactory PyPI remote), or ``off``.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from policy_gate.dependencies.license_lookup import LicenseLookup, RegistryClient
from policy_gate.dependencies.spdx import parse
from policy_gate.packages import PYPI

DEFAULT_PYPI_URL = "https://pypi.org/pypi"
PYPI_URL_ENV = "POLICY_GATE_PYPI_URL"
MAX_RESPONSE_BYTES = 32 * 1024 * 1024

# Trove classifiers that name exactly one SPDX licence. "Apache Software License" carries
# no version; every release under it for the last two decades is Apache-2.0.
CLASSIFIERS: dict[str, str] = {
    "License :: OSI Approved :: MIT License": "MIT",
    "License :: OSI Approved :: MIT No Attribution License (MIT-0)": "MIT-0",
    "License :: OSI Approved :: Apache Software License": "Apache-2.0",
    "License :: OSI Approved :: ISC License (ISCL)": "ISC",
    "License :: OSI Approved :: Python Software Foundation License": "PSF-2.0",
    "License :: OSI Approved :: The Unlicense (Unlicense)": "Unlicense",
    "License :: CC0 1.0 Universal (CC0 1.0) Public Domain Dedication": "CC0-1.0",
    "License :: OSI Approved :: Mozilla Public License 1.1 (MPL 1.1)": "MPL-1.1",
    "License :: OSI Approved :: Mozilla Public License 2.0 (MPL 2.0)": "MPL-2.0",
    "License :: OSI Approved :: Boost Software License 1.0 (BSL-1.0)": "BSL-1.0",
    "License :: OSI Approved :: zlib/libpng License": "Zlib",
    "License :: OSI Approved :: Eclipse Public License 1.0 (EPL-1.0)": "EPL-1.0",
    "License :: OSI Approved :: Eclipse Public License 2.0 (EPL-2.0)": "EPL-2.0",
    "License :: OSI Approved :: European Union Public Licence 1.1 (EUPL 1.1)": "EUPL-1.1",
    "License :: OSI Approved :: European Union Public Licence 1.2 (EUPL 1.2)": "EUPL-1.2",
    "License :: OSI Approved :: Historical Permission Notice and Disclaimer (HPND)": "HPND",
    "License :: OSI Approved :: Universal Permissive License (UPL)": "UPL-1.0",
    "License :: OSI Approved :: GNU General Public License v2 (GPLv2)": "GPL-2.0-only",
    "License :: OSI Approved :: GNU General Public License v2 or later (GPLv2+)":
        "GPL-2.0-or-later",
    "License :: OSI Approved :: GNU General Public License v3 (GPLv3)": "GPL-3.0-only",
    "License :: OSI Approved :: GNU General Public License v3 or later (GPLv3+)":
        "GPL-3.0-or-later",
    "License :: OSI Approved :: GNU Affero General Public License v3": "AGPL-3.0-only",
    "License :: OSI Approved :: GNU Affero General Public License v3 or later (AGPLv3+)":
        "AGPL-3.0-or-later",
    "License :: OSI Approved :: GNU Lesser General Public License v2 (LGPLv2)": "LGPL-2.0-only",
    "License :: OSI Approved :: GNU Lesser General Public License v2 or later (LGPLv2+)":
        "LGPL-2.0-or-later",
    "License :: OSI Approved :: GNU Lesser General Public License v3 (LGPLv3)": "LGPL-3.0-only",
    "License :: OSI Approved :: GNU Lesser General Public License v3 or later (LGPLv3+)":
        "LGPL-3.0-or-later",
}


class PyPIMetadata(RegistryClient):
    """Licence lookups against one PyPI JSON API (a ``license_lookup.Registry``), kept for
    the life of the object (one scan). Safe to call from several threads."""

    ecosystem = PYPI
    what = "PyPI"
    url_env = PYPI_URL_ENV
    default_url = DEFAULT_PYPI_URL
    max_bytes = MAX_RESPONSE_BYTES

    def url(self, name: str, version: str) -> str:
        quote = urllib.parse.quote
        return f"{self.base_url}/{quote(name, safe='')}/{quote(version, safe='')}/json"

    def release(self, name: str, version: str) -> str:
        return f"{name} {version}"

    def read(self, document: Any, name: str, version: str) -> LicenseLookup:
        return license_from_metadata(document)


def license_from_metadata(document: Any) -> LicenseLookup:
    """The licence a PyPI JSON API document declares (see the module docstring)."""
    info = document.get("info") if isinstance(document, dict) else None
    if not isinstance(info, dict):
        return LicenseLookup(None, reason="the metadata has no 'info' object")
    expression = info.get("license_expression")
    if isinstance(expression, str) and expression.strip():
        parsed = parse(expression)
        if parsed.expression is not None:
            return LicenseLookup(parsed.expression, "license_expression", available=True)
        return LicenseLookup(None, reason=f"License-Expression: {parsed.reason}",
                             available=True, declared=expression.strip())
    declared = info.get("license")
    declared_reason = "no License field"
    shown: str | None = None
    if isinstance(declared, str) and declared.strip():
        one_line = len(declared) <= 200 and "\n" not in declared.strip()
        expression = parse(declared).expression if one_line else None
        if expression is not None:
            return LicenseLookup(expression, "license", available=True)
        shown = declared.strip().splitlines()[0][:60]
        declared_reason = f"License '{shown}' is not an SPDX expression"
    classifiers = info.get("classifiers")
    trove = [c for c in classifiers if isinstance(c, str) and c.startswith("License ::")] \
        if isinstance(classifiers, list) else []
    mapped = [CLASSIFIERS[c] for c in trove if c in CLASSIFIERS]
    unmapped = [c for c in trove if c not in CLASSIFIERS and c != "License :: OSI Approved"]
    if mapped and not unmapped:
        ids = list(dict.fromkeys(mapped))
        return LicenseLookup(" OR ".join(ids) if len(ids) > 1 else ids[0], "classifiers",
                             available=True)
    if unmapped:
        return LicenseLookup(
            None,
            reason=f"{declared_reason}, and the classifier '{unmapped[0]}' names no single "
            "SPDX licence",
            available=True,
            declared=shown,
        )
    return LicenseLookup(None, reason=f"{declared_reason} and no licence classifier",
                         available=True, declared=shown)
