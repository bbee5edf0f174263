"""headroom-gateway core: the compression use case, pure of frameworks and clients.

Imports only the standard library and headroom-ai (enforced by a test).
"""
