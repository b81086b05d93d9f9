"""The pilot's API and admin side (002 §3, §4.1): kill switch, rate limit, feedback loop."""
