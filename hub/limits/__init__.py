"""Brakes and buckets: per-account send rate, inbound SMS limits, and the guessing brakes on
tokens and pairing codes.
"""
