"""relay_sim: simulated Android relays for the SMS relay hub.

Each ``SimRelay`` pairs like the real app, keeps one WebSocket to the hub and
drives the relay side of the protocol through ``protocol.relay_session.RelaySession``;
a ``Profile`` decides how fast and how badly its simulated phone behaves. The
hub's end-to-end tests use ``SimRelay`` directly; ``relayhub sim`` (``cli.py``)
runs a whole ``Fleet`` of them against a running hub.
"""

__version__ = "0.1.0"
