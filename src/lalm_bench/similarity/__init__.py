"""The listening probe: how similar a model's answers are with real audio and with noise."""

from lalm_bench.similarity.probe import DEFAULT_MODEL, SimilarityConfig, run_similarity

__all__ = ["DEFAULT_MODEL", "SimilarityConfig", "run_similarity"]
