"""The sidecar / service process: CLI entry point and container images."""
