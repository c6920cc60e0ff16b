"""JSON of results and stored objects, as LUNA clients read them, and their schemas."""
