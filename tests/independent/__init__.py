"""Implementations of the runbooks written apart from releasegate and its reference stack
(issue 17 item 2)."""
