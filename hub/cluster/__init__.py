"""Several hub nodes on one PostgreSQL: who is alive, who holds which relay, how
nodes wake each other.

The model (SCALEOUT.md): the node holding a relay's socket is the only one that
dispatches to it and applies its frames; queued messages a node cannot place
wait in PostgreSQL, where any node with room claims them. ``coordination``
is what the engine talks to; on one node (SQLite, or PostgreSQL without
``[cluster] enabled``) it does nothing at all.
"""
