"""The SMS engine: messages from acceptance to a final state (queue, moves, dispatch, recovery)."""
