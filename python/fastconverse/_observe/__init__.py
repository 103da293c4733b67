"""What users see of a turn from outside: logs (and, later, traces and metrics), on hooks."""
