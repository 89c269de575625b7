"""What a waiver says about an advisory, in OpenVEX's words and in CycloneDX's: one
table, so that the OpenVEX export and the SBOM's vulnerability analysis never disagree.

A waiver is one of two decisions (docs/waivers.md, "OpenVEX export"):

* **not affected**, for a technical reason: the waiver names one of OpenVEX's five
  justifications (the waivers schema allows only those). OpenVEX ``not_affected`` with
  that justification; CycloneDX ``not_affected`` with the justification below.
* **a risk accepted** for a limited time: no justification. The advisory does affect the
  package; the owner decided to leave it until the expiry. OpenVEX ``affected`` with an
  action statement (who accepted it, why, until when), CycloneDX ``exploitable`` with the
  response ``will_not_fix``. Never ``not_affected``: that status means "no remediation is
  required", and scanners reading the document would suppress the advisory for good,
  long after the waiver expired. Not ``under_investigation`` either: that status means it
  is not yet known whether the product is affected, and an accepted risk is a decision,
  not an open question.

The justification labels (CISA's, which OpenVEX uses) have no one-to-one CycloneDX
equivalents; the mapping is the usual one (CycloneDX's own VEX guidance and the
converters that read both): the component or the vulnerable code absent ->
``code_not_present``, not in the execute path -> ``code_not_reachable``, not controllable
by an adversary -> ``requires_environment``, inline mitigations ->
``protected_by_mitigating_control``.
"""

from __future__ import annotations

from dataclasses import dataclass

from policy_gate.policy.waivers import Waiver

# OpenVEX (CISA) justification -> CycloneDX 1.5/1.6 ``analysis.justification``. The keys
# are the values the waivers schema allows for ``justification``.
JUSTIFICATIONS: dict[str, str] = {
    "component_not_present": "code_not_present",
    "vulnerable_code_not_present": "code_not_present",
    "vulnerable_code_not_in_execute_path": "code_not_reachable",
    "vulnerable_code_cannot_be_controlled_by_adversary": "requires_environment",
    "inline_mitigations_already_exist": "protected_by_mitigating_control",
}

NOT_AFFECTED = "not_affected"  # OpenVEX status and CycloneDX state alike
AFFECTED = "affected"  # OpenVEX
EXPLOITABLE = "exploitable"  # CycloneDX's state for OpenVEX's "affected"
WILL_NOT_FIX = "will_not_fix"  # CycloneDX's response for an accepted risk


@dataclass(frozen=True)
class Stance:
    """What one waiver states, in both vocabularies."""

    openvex_status: str
    openvex_justification: str | None
    cyclonedx_state: str
    cyclonedx_justification: str | None
    cyclonedx_responses: tuple[str, ...]


def stance(waiver: Waiver) -> Stance:
    """The waiver's decision: not affected with its justification, else a risk accepted."""
    label = waiver.justification
    if label is not None:
        return Stance(NOT_AFFECTED, label, NOT_AFFECTED, JUSTIFICATIONS[label], ())
    return Stance(AFFECTED, None, EXPLOITABLE, None, (WILL_NOT_FIX,))


def accepted(waiver: Waiver) -> str:
    """The risk acceptance in words: OpenVEX's action statement, CycloneDX's detail."""
    return (
        f"Risk accepted by {waiver.owner} until {waiver.expires.isoformat()}: "
        f"{waiver.reason}. Fix it (upgrade the package) or renew the acceptance by then: "
        "after that date policy-gate fails on this advisory again"
    )


def not_affected(waiver: Waiver) -> str:
    """A justified waiver in words, for CycloneDX's detail (OpenVEX has fields for it)."""
    return f"Not affected ({waiver.justification}) per {waiver.describe()}: {waiver.reason}"


def issued(waiver: Waiver) -> str | None:
    """When the decision was made, RFC 3339 (the waiver's ``created`` day, midnight UTC);
    None when the waiver does not say."""
    return None if waiver.created is None else f"{waiver.created.isoformat()}T00:00:00Z"
