"""Kompress, the prose compressor: local ONNX (CPU or CUDA), the remote client, its metric.

The composition root (`adapters.bootstrap`) picks which one the settings ask for.
"""
