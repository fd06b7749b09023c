"""The domain: what the service does, independent of HTTP. Functions take a session."""
