"""What the rubric sub-jobs share: clips, rubric files, the record format, the scripted fakes."""

from pathlib import Path

#: Where ``rubrics generate`` writes its run folders by default, and so where ``rubrics collect`` reads.
RUBRICS_DIR = Path("rubrics")
