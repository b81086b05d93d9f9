"""Exceptions with one-line messages: what is wrong and how to fix it."""

from __future__ import annotations


class ReleasegateError(Exception):
    """Base class; str() of every subclass is a single line meant for the user."""


class ProfileError(ReleasegateError):
    """The target profile cannot be used: unset variable, unknown key, wrong type."""


class ServerUnavailable(ReleasegateError):
    """A throwaway Postgres/Redis server cannot be provided (binaries missing, no engine)."""


# How a check failed, most specific first: the verdict's headline is the failure of the most
# specific kind (docs/report.md "The headline"), and a check's remedy may differ per kind.
FAILURE_KINDS = (
    "other_build",   # another build (or config) is serving than the one deployed
    "wrong_status",  # the target answered with the wrong status: accepted what it must refuse, or not
    "wrong_body",    # the status was right, the body (schema, field, event, error code) was not
    "stale",         # the signal is there but old: data, a backup, a sync
    "missing",       # the signal the check reads is absent: no field, no build, no series, no row
    "no_answer",     # nothing answered: refused, timed out, unreachable
)


class CheckFailed(AssertionError):
    """A check saw the target misbehave. The message is the one-line reason in the checklist.

    ``remedy`` names what to do about it (the runbook's troubleshooting step) when it depends
    on how the check failed; the check's ``@pytest.mark.remedy`` is used otherwise. ``cause`` is
    the key of the exchange whose answer was wrong (``Exchange.key``): other checks that failed
    after seeing the same answer are reported as following from this one. ``kind`` is one of
    ``FAILURE_KINDS``: it ranks the failure for the verdict's headline and picks the remedy the
    check's marker gives for that kind.
    """

    def __init__(self, message: str, *, remedy: str | None = None, cause: str | None = None,
                 kind: str | None = None) -> None:
        super().__init__(message)
        if kind is not None and kind not in FAILURE_KINDS:
            raise ValueError(f"unknown failure kind {kind!r}; one of {', '.join(FAILURE_KINDS)}")
        self.remedy = remedy
        self.cause = cause
        self.kind = kind


class Inconclusive(Exception):
    """Neither a pass nor a failure: too few samples, no data (Argo Rollouts' Inconclusive).

    The check shows as INCONCLUSIVE with this one-line reason, and the verdict is at best
    INVESTIGATE: nothing verified is never a GO. ``remedy`` says how to get a judgement (more
    traffic, a wider window); without one the report frames the check's failure remedy as what
    to do should it fail once it can be judged.
    """

    def __init__(self, message: str, *, remedy: str | None = None) -> None:
        super().__init__(message)
        self.remedy = remedy


class UsageProblem(ReleasegateError):
    """The command was asked for something that does not exist (a provider, a fault name)."""


class NotApplicable(Exception):
    """The check does not apply to this target (its profile section is absent or disabled, or it
    would change the target without --allow-mutations): shown as N/A, never as passed.

    Engines and views raise it instead of ``pytest.skip`` so they import no pytest; the gate
    turns it into a skip with this one-line reason.
    """
