"""HTTP layer: routers that translate requests into domain calls."""
