"""The organisation view over many repositories' JSON reports (`policy-gate aggregate`)."""
