"""Who is calling: per-user gateway keys (stored hashed), trusted identity headers, and the
keyed fingerprint of a bring-your-own provider key."""
