"""Continuous-integration glue: what a CI system's steps make of a finished run (no pytest)."""
