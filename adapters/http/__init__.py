"""The HTTP face of the gateway: one FastAPI app factory, shared by every target."""
