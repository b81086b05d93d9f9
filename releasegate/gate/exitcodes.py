"""Exit codes outside the verdict's 0-4 (DESIGN: Verdict and exit codes; sysexits-style).

Codes 1-4 mean a verdict and nothing else; a run that reached none exits with one of these.
"""

EXIT_UNUSABLE = 64  # the run could not start: bad profile, usage error, a check without markers
EXIT_NO_REACH = 68  # the runner reached no host of the target (DNS, routing, proxy): nothing judged
EXIT_NO_SERVER = 69  # a throwaway server could not be provided
EXIT_SOFTWARE = 70  # releasegate itself crashed (INTERNALERROR): a bug, not a verdict
EXIT_INTERRUPTED = 130  # SIGINT / SIGTERM
