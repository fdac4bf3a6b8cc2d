"""Tools a maintainer runs on the repository (``make docs``); not part of the hub."""
