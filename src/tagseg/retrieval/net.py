"""HTTP fetching with back-off on rate limits (429, 503) and clear errors.

Used for the ``index`` catalogue and for thumbnails; videos go through yt-dlp
(:mod:`.download`). ``file://`` URLs and plain paths are read from disk.
"""

from __future__ import annotations

import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

log = logging.getLogger("tagseg.retrieval")

USER_AGENT = "tagseg-retrieval/0.1 (+https://github.com/tagseg)"
RATE_LIMITED = (429, 503)


class FetchError(RuntimeError):
    """A URL could not be fetched; ``reason`` is a short machine-readable tag."""

    def __init__(self, url: str, reason: str, detail: str):
        super().__init__(f"{url}: {reason}: {detail}")
        self.url, self.reason, self.detail = url, reason, detail


def is_url(s: str) -> bool:
    return urllib.parse.urlparse(str(s)).scheme in ("http", "https", "file")


def to_url(path_or_url: str) -> str:
    """A URL for a path (``file://``) or the URL itself."""
    return path_or_url if is_url(path_or_url) else Path(path_or_url).resolve().as_uri()


def retry_after(headers, default: float) -> float:
    """Seconds from a ``Retry-After`` header (delta-seconds form), else ``default``."""
    v = headers.get("Retry-After") if headers is not None else None
    try:
        return max(0.0, float(v))
    except (TypeError, ValueError):
        return default


def fetch(
    url: str, timeout: float = 20.0, retries: int = 3, backoff_s: float = 2.0,
    max_bytes: int = 20 * 2**20, sleep=time.sleep,
) -> bytes:
    """GET ``url`` (http, https, file or a path) -> body bytes.

    A 429/503 answer backs off (``Retry-After`` when given, else ``backoff_s * 2**attempt``)
    and retries up to ``retries`` times; then raises :class:`FetchError` with reason
    ``rate_limited``. Other HTTP errors raise reason ``http_<code>``; network errors ``network``.
    """
    if not is_url(url):
        try:
            return Path(url).read_bytes()
        except OSError as e:
            raise FetchError(url, "missing", str(e)) from None
    req = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    for attempt in range(retries + 1):
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                body = r.read(max_bytes + 1)
            if len(body) > max_bytes:
                raise FetchError(url, "too_large", f"more than {max_bytes} bytes")
            return body
        except urllib.error.HTTPError as e:
            if e.code in RATE_LIMITED and attempt < retries:
                wait = retry_after(e.headers, backoff_s * 2**attempt)
                log.warning("%s: HTTP %d, backing off %.1f s (attempt %d/%d)",
                            url, e.code, wait, attempt + 1, retries)
                sleep(wait)
                continue
            reason = "rate_limited" if e.code in RATE_LIMITED else f"http_{e.code}"
            raise FetchError(url, reason, f"HTTP {e.code} {e.reason}") from None
        except urllib.error.URLError as e:
            if isinstance(e.reason, FileNotFoundError) or url.startswith("file:"):
                raise FetchError(url, "missing", str(e.reason)) from None
            raise FetchError(url, "network", str(e.reason)) from None
        except (TimeoutError, ConnectionError) as e:
            raise FetchError(url, "network", str(e)) from None
    raise AssertionError("unreachable")
