"""Reference agreement (``lalm-bench clotho-refs``): how much the human captions of each clip agree.

``config.ReferenceConfig`` → ``run.run_references`` (a ``ReferencesResult``)
→ ``report`` → ``command.clotho_refs_command``;
``inputs`` finds the captions, ``agreement`` holds the computations.
"""
