"""The small base every layer stands on: processes, the tree's files, git, path patterns,
masking, safe YAML and strict JSON. It imports nothing else of the gate's."""
