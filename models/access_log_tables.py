"""Tables of the PHI access log."""
