"""Fleets: many targets in one run, one decision, and every run compared with the last.

``spec`` reads the fleet file, ``merge`` combines one-target summaries into a fleet summary and
its verdict, ``compare`` sets a run beside a previous one, ``history`` draws past runs. No pytest
here: the gate runs the targets (releasegate/gate/fleet.py) and draws the report.
"""
