"""Compliance mapping: which Mojaloop facts, PCI DSS requirements and GDPR articles each
gate check gives evidence for, and how one run stands against each of them.

``catalogue.load_catalogue()`` reads the shipped catalogue; ``catalogue.build_map(policy)``
merges it with the policy's own citations; ``assess.assess(data, commit=head_commit(data))``
judges every control as pass, fail, not-checked or not-covered. ``policy_gate.reports.compliance``
renders the result. Automated evidence supports an assessment; it is not one
(docs/compliance.md).

Callers import from the module that defines a name (``compliance.assess``,
``compliance.catalogue``): the package re-exports nothing, so there is one list of its names
and the function ``assess`` never hides the module of the same name.
"""
