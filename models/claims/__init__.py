"""The claim stage: scrub, claims and batches, remittance, denials, appeals, the clearinghouse."""
