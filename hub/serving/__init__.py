"""Running the hub as a process: the HTTP server and its protocol limits, request middleware,
log redaction, the data-folder lock and private files, the dashboard sign-in link.
"""
