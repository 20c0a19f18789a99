"""Webhooks: alert events (and, with issue 17 part B, verdicts and maintenance) to HTTP endpoints."""
