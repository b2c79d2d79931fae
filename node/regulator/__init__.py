"""L7, regulation."""
