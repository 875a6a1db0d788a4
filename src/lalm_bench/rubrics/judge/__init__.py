"""``lalm-bench rubrics judge``: captions scored against a weighted rubric, criterion by criterion."""
