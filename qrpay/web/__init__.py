"""The web layer: bill pages, the JSON API and the counter desk (Starlette)."""
