"""Sentry (001 §6.2): the DSN and a test event sent with a private client, seen through the API."""
