"""Reference agreement (``lalm-bench clotho-refs``): how much the human captions of each clip agree.

``config.ClothoRefsConfig`` → ``run.run_clotho_refs`` (a ``ClothoRefsResult``)
→ ``report`` → ``command.clotho_refs_command``;
``inputs`` finds the captions, ``agreement`` holds the computations.
"""
