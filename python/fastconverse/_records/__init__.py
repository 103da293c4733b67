"""A conversation as a record: the settings a store keeps, the conversations a client keeps
by id, the by-id API, and its cost."""
