"""L3, the system operator."""
