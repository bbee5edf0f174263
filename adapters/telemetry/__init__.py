"""Usage exports: Prometheus usage counters and OpenTelemetry (GenAI conventions) over OTLP."""
