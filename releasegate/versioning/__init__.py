"""versioning"""
