"""The chart: its tables, lifecycle, holds, routing, and what the workflow hands the projection."""
