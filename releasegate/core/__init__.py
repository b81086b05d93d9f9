"""The small shared core: profile loading and checks, evidence, redaction, deadlines, errors, paths.

The sink of the layers: it imports no protocol area, no gate and no pytest."""
