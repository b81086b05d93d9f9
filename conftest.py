"""Root conftest for suites/: only what every area shares.

The fixtures every check uses (target, evidence, http_target_factory, record_fact) come from the
releasegate plugin itself, so suites can be run from any directory; area fixtures live in each
suites/<area>/conftest.py.
"""
