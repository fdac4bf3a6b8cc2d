"""Relay protocol v1, sans I/O: frames, the message lifecycle, and both session roles.

Nothing here touches a socket, a clock or a database; the hub and relay_sim
drive these objects from their own I/O loops.
"""
