"""Intake: the per-encounter progress of a bundle taken in the background."""
