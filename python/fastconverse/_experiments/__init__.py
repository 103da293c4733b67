"""``PromptExperiment``'s parts: assignment, the figures its hook records in each
conversation's metadata, the statistics over them, the result rows, and ``run``."""
