"""Rubric generation (OnlineRubrics-style) from clips, model captions and human references."""
