"""Accounts and who may act for them: the account directory (limits, subscription, pause) and
access tokens.
"""
