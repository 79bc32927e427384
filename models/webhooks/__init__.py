"""Outbound webhooks: which changes integrators hear about, and their delivery tables."""
