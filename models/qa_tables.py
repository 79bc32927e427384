"""Tables of the QA audit program."""
