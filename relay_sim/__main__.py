"""``python -m relay_sim``: the same as ``relayhub sim``."""

from relay_sim.cli import main

raise SystemExit(main())
