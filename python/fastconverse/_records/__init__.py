"""A conversation as a record: the settings a store keeps, the by-id API, and its cost."""
