"""sentry"""
