"""A tenant's operating policy and its versions."""
