"""The turn: the one driver of its steps and hooks, and ending what is under way at exit."""
