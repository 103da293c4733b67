"""Content: what kind of media some bytes are, and a user's message as checked content blocks."""
