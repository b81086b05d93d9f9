"""The gate: the pytest plugin (options, collection, outcomes, fixtures), the verdict, root causes,
waivers and the outputs (report.html, junit.xml, summary.json, the terminal and step summary).

The only layer that imports pytest. It builds engines from the profile and hands them to the
suites; nothing below it imports it."""
