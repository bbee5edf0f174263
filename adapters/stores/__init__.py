"""The core's state ports, implemented: sessions (memory, Redis) and originals (files,
Redis, S3). The composition root picks them from settings."""
