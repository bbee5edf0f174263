"""Adapters: settings, stores, metrics and HTTP around the core's ports."""
