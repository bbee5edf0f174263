"""Kubernetes: the admission webhook that inserts the chart-rendered sidecar into pods."""
