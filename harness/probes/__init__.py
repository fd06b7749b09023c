"""Probes: how the harness observes a deployment (SSE tabs, availability, the write ledger)."""
