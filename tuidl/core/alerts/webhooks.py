"""Webhooks: an alert as an HTTP POST to ntfy, Slack, Discord (placeholder)."""


def check_url(url: str) -> str:
    return "" if url.startswith(("http://", "https://")) else f"{url!r} is not an http(s) URL"
