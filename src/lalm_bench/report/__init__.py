"""``lalm-bench report``: one self-contained HTML page (or paper tables) from the outputs of the other jobs."""
