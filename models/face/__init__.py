"""Face model adapters, one per model family, and the face geometry they share (warps)."""
