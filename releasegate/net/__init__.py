"""Network probes that belong to no protocol: is a port reachable on a public address (000 §5.5)."""
