"""Relays: the paired phones (the device directory, pairing) and their live sockets (endpoint,
connection, registry, hello/welcome handshake)."""
