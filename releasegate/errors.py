"""Exceptions with one-line messages: what is wrong and how to fix it."""


class ReleasegateError(Exception):
    """Base class; str() of every subclass is a single line meant for the user."""


class ProfileError(ReleasegateError):
    """The target profile cannot be used: unset variable, unknown key, wrong type."""


class ServerUnavailable(ReleasegateError):
    """A throwaway Postgres/Redis server cannot be provided (binaries missing, no engine)."""


class CheckFailed(AssertionError):
    """A check saw the target misbehave. The message is the one-line reason in the checklist."""
