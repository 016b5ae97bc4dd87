"""Observability: redaction, structured logs, Prometheus metrics, LangSmith tracing, usage."""
