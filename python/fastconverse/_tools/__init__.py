"""Tools: schemas, input checks, running the calls, their results, and structured output."""
