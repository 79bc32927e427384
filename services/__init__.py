"""Use cases per feature, shared by API routes, web pages, the CLI and activities."""
