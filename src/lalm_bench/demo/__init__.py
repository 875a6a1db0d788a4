"""``lalm-bench demo``: the whole loop on a synthesised benchmark with the shipped mock models, offline.

It composes jobs (``predict`` → ``similarity`` + ``accuracy`` → the report), so it sits above them,
beside the CLI, in the import contracts.
"""
