"""relayhub: a WebSocket-first SMS relay hub."""

__version__ = "0.1.0"
