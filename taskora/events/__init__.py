"""The event backbone: outbox, relay, buses, consumers and the stream tail.

Nothing here knows an HTTP router; the API layer calls in, never the other way round.
"""
