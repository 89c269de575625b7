"""The licence of an npm package, where the lockfile does not record it: from its
installed ``node_modules/<location>/package.json`` beside the lockfile, else from the npm
registry's document for that version (``{base}/{name}/{version}``, a scoped name's ``/``
escaped; ``https://registry.npmjs.org`` or a mirror answering the same API, e.g. Verdaccio
or an Artifactory npm remote).

Both are read as data, never run. The installed file is read without following a link
anywhere on its way (``base.treefile.read_below``), at most ``MAX_MANIFEST_BYTES``, and is
believed only when it is the same package and version as the lockfile's entry (another
version installed there says nothing about this one). A registry answer is believed only
when it is a JSON object for the same name and version.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from policy_gate.base import jsontext
from policy_gate.base.treefile import TreeFileError, read_below
from policy_gate.dependencies.license_lookup import LicenseLookup, RegistryClient
from policy_gate.packages import NPM

DEFAULT_NPM_URL = "https://registry.npmjs.org"
NPM_URL_ENV = "POLICY_GATE_NPM_URL"
MAX_MANIFEST_BYTES = 1024 * 1024  # an installed package.json
MAX_DOCUMENT_BYTES = 8 * 1024 * 1024  # a registry version document (some embed a readme)


def declared_license(value: object) -> str | None:
    """A package's licence as its manifest (or lockfile entry) declares it, as one string:
    an SPDX expression or name; the deprecated ``{"type": ..., "url": ...}`` object; or a
    list of either (npm's old ``licenses``: any one of them may be chosen, so ``OR``)."""
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, dict):
        kind = value.get("type")
        return kind.strip() or None if isinstance(kind, str) else None
    if isinstance(value, list):
        kinds = [k for v in value[:64] if not isinstance(v, list)
                 for k in (declared_license(v),) if k]
        if len(kinds) == 1:
            return kinds[0]
        return " OR ".join(f"({k})" if " " in k else k for k in kinds) or None
    return None


def manifest_license(doc: Mapping[str, Any]) -> str | None:
    """The licence a package.json (or a registry's version document) declares: its
    ``license``, else the deprecated ``licenses`` list."""
    return declared_license(doc.get("license")) or declared_license(doc.get("licenses"))


def _same_release(doc: object, name: str, version: str) -> bool:
    return (isinstance(doc, dict) and doc.get("name") == name
            and doc.get("version") == version)


def installed_license(lockfile_dir: Path, location: str, name: str,
                      version: str) -> str | None:
    """The licence ``node_modules/.../package.json`` at ``location`` (relative to the
    lockfile's directory) declares, if that file is there, readable without following a
    link, and the same ``name@version``; else None."""
    try:
        data = read_below(lockfile_dir, f"{location}/package.json", MAX_MANIFEST_BYTES)
        doc = jsontext.loads(jsontext.decode_like_node(data), surrogates="replace")
    except (TreeFileError, ValueError, RecursionError):
        return None
    if not _same_release(doc, name, version):
        return None
    return manifest_license(doc)


class NpmRegistry(RegistryClient):
    """Licence lookups against one npm registry (a ``license_lookup.Registry``), kept for
    the life of the object. Safe to call from several threads."""

    ecosystem = NPM
    what = "npm registry"
    url_env = NPM_URL_ENV
    default_url = DEFAULT_NPM_URL
    max_bytes = MAX_DOCUMENT_BYTES

    def url(self, name: str, version: str) -> str:
        quote = urllib.parse.quote
        return f"{self.base_url}/{quote(name, safe='@')}/{quote(version, safe='')}"

    def release(self, name: str, version: str) -> str:
        return f"{name}@{version}"

    def read(self, document: Any, name: str, version: str) -> LicenseLookup:
        if not _same_release(document, name, version):
            return LicenseLookup(None, reason=f"{self.base_url} answered with a document "
                                 f"that is not {name}@{version}")
        declared = manifest_license(document)
        if declared is None and any(document.get(k) not in (None, "", []) for k in
                                    ("license", "licenses")):
            return LicenseLookup(None, reason=f"{self.base_url} answered a licence that is "
                                 "neither a string nor a list of them")
        if declared is None:
            return LicenseLookup(None, reason="the registry's metadata declares no licence",
                                 available=True)
        return LicenseLookup(declared, "registry", available=True, declared=declared)
