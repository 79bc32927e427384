"""X12 5010 billing adapter: 837P out; 835, 277CA and 999 in; clearinghouse client.

Import from the submodules (`x837p`, `x835`, `x277ca`, `x999`, `client`, ...); this package
keeps no import-time side effects so workflow sandboxes can pass it through cheaply.
"""
