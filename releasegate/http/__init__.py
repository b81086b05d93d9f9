"""HTTP and SSE engines: bounded exchanges with a target (client.py) and an event-stream reader (sse.py)."""
