"""Runs of other machines, over the user's own ``ssh`` (docs/remote.md).

``protocol`` — the JSON lines both sides speak; ``stream`` — ``tuidl stream``, the remote
side; ``mirror`` — a host's runs copied into a local cache folder, kept as ordinary run
directories; ``client`` — the local side: one ssh link per host, reconnecting."""
