"""The parts of ``python -m fastconverse chat`` (``fastconverse.chat`` is its face)."""
