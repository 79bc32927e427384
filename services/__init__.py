"""Use cases shared by API routes, web pages, the CLI and activities; each owns its transaction."""
