"""What the gateway reports about itself: Prometheus metrics (and usage exports)."""
