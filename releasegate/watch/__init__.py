"""The observation window (issue 18): repeat checks and observations over time and decide.

Engines only: no pytest, no gate. ``releasegate watch`` (watch/command.py) drives them.
"""
