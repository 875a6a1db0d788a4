"""The listening probe (``lalm-bench similarity``): how similar a model's answers are with real audio and with noise.

``config.SimilarityConfig`` → ``run.run_similarity`` (a ``SimilarityResult``)
→ ``report`` → ``command.similarity_command``.
"""
