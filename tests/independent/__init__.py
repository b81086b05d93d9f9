"""Implementations of the runbooks written apart from the reference stack (issue 17 item 2)."""
