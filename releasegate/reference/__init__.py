"""The reference stack: a real ASGI service on real Postgres and Redis with fault switches.

It implements every contract the runbooks describe, so each releasegate check can be shown to
pass against it when healthy and to fail, for the right reason, when one fault is switched on.
"""
