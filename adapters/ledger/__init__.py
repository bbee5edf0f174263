"""The usage ledger: one row per request (no content), batched off the request path into
SQLite (embedded) or PostgreSQL (shared by every replica), spooled to disk while the database
is down, rolled up per hour for the /stats endpoints."""
