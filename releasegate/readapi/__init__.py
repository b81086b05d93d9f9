"""readapi"""
