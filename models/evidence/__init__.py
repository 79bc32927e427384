"""Evidence: the packet, the audit hash chain, the ledger, signed checkpoints, the PHI access log."""
