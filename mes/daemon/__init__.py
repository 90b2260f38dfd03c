"""The tool-side daemon: config → transports → drivers → engines; leases; sample ingest."""
