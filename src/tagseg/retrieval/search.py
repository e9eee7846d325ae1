"""Stage 1, ``search``: keyword -> candidate videos (id, title, duration, thumbnail, url).

Backends:

- ``youtube``: yt-dlp ``ytsearch{N}:{keyword}`` with flat extraction (no per-video page
  fetches); entries are ``{"_type": "url", "id", "url", "title", "duration", "thumbnails": [...]}``.
- ``index``: a JSON catalogue read from a path or URL::

      {"keywords": {"car": [{"id": "car_000", "title": "...", "duration": 12.0,
                             "thumbnail": "thumbs/car_000.jpg", "url": "videos/car_000.mp4"}]}}

  Relative ``thumbnail`` / ``url`` resolve against the catalogue's location; yt-dlp downloads
  the videos through its generic extractor.
"""

from __future__ import annotations

import json
import logging
import re
import urllib.parse
from dataclasses import asdict, dataclass
from typing import Any

from ..h5io import write_json
from .net import FetchError, fetch, to_url

log = logging.getLogger("tagseg.retrieval")

BACKENDS = ("youtube", "index")


class SearchError(RuntimeError):
    """A search could not run at all (bad catalogue, unknown backend); names the source."""


@dataclass
class Candidate:
    """One search result. ``id`` is filename-safe; ``duration`` seconds or None."""

    id: str
    title: str
    url: str
    thumbnail: str | None
    duration: float | None
    keyword: str

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "Candidate":
        return cls(**{k: d.get(k) for k in ("id", "title", "url", "thumbnail", "duration", "keyword")})


def default_keyword(class_name: str) -> str:
    """Search keyword of a class when config gives none: 'traffic_light' -> 'traffic light'."""
    return class_name.replace("_", " ")


def safe_id(s: str) -> str:
    """Filename-safe id: ``[A-Za-z0-9_-]`` only."""
    out = re.sub(r"[^A-Za-z0-9_-]+", "-", str(s)).strip("-")
    if not out:
        raise ValueError(f"cannot make an id from {s!r}")
    return out


def best_thumbnail(entry: dict[str, Any]) -> str | None:
    """Largest of ``entry['thumbnails']`` (by width*height, then list order), else ``entry['thumbnail']``."""
    thumbs = [t for t in entry.get("thumbnails") or [] if t.get("url")]
    if thumbs:
        return max(
            enumerate(thumbs),
            key=lambda it: ((it[1].get("width") or 0) * (it[1].get("height") or 0), it[0]),
        )[1]["url"]
    return entry.get("thumbnail")


def search_youtube(keyword: str, n: int, ydl_opts: dict[str, Any] | None = None) -> list[Candidate]:
    """``ytsearch{n}:{keyword}`` via yt-dlp flat extraction -> candidates (live streams skipped)."""
    import yt_dlp

    opts = {"quiet": True, "no_warnings": True, "extract_flat": "in_playlist",
            "skip_download": True, **(ydl_opts or {})}
    with yt_dlp.YoutubeDL(opts) as ydl:
        info = ydl.extract_info(f"ytsearch{int(n)}:{keyword}", download=False)
    out: list[Candidate] = []
    for e in (info or {}).get("entries") or []:
        if not e or not e.get("id"):
            continue
        if e.get("live_status") in ("is_live", "is_upcoming"):
            continue
        url = e.get("webpage_url") or e.get("url") or f"https://www.youtube.com/watch?v={e['id']}"
        thumb = best_thumbnail(e) or f"https://i.ytimg.com/vi/{e['id']}/hqdefault.jpg"
        dur = e.get("duration")
        out.append(Candidate(safe_id(e["id"]), e.get("title") or "", url, thumb,
                             float(dur) if dur is not None else None, keyword))
    return out


def load_catalogue(source: str, **fetch_kw) -> tuple[dict[str, Any], str]:
    """Read a catalogue from a path or URL -> (parsed JSON, base URL for relative links)."""
    url = to_url(source)
    try:
        data = json.loads(fetch(url, **fetch_kw))
    except FetchError as e:
        raise SearchError(f"index catalogue {source}: {e.reason}: {e.detail}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise SearchError(f"index catalogue {source}: not valid JSON: {e}") from None
    if not isinstance(data, dict) or not isinstance(data.get("keywords"), dict):
        raise SearchError(f"index catalogue {source}: needs an object with a 'keywords' mapping")
    return data, url


def search_index(source: str, keyword: str, n: int, **fetch_kw) -> list[Candidate]:
    """First ``n`` catalogue entries of ``keyword`` (none: an empty list, logged)."""
    data, base = load_catalogue(source, **fetch_kw)
    entries = data["keywords"].get(keyword)
    if entries is None:
        log.warning("index catalogue %s has no keyword %r", source, keyword)
        return []
    out = []
    for i, e in enumerate(entries[: int(n)]):
        if not isinstance(e, dict) or not e.get("url"):
            raise SearchError(f"index catalogue {source}: keyword {keyword!r} entry {i} has no 'url'")
        vid = safe_id(e.get("id") or f"{keyword}-{i}")
        thumb = urllib.parse.urljoin(base, e["thumbnail"]) if e.get("thumbnail") else None
        dur = e.get("duration")
        out.append(Candidate(vid, e.get("title") or "", urllib.parse.urljoin(base, e["url"]),
                             thumb, float(dur) if dur is not None else None, keyword))
    return out


def search(
    class_name: str, keywords: list[str], n: int, backend: str, index: str | None = None,
    ydl_opts: dict[str, Any] | None = None, **fetch_kw,
) -> dict[str, Any]:
    """Run every keyword of one class; de-duplicate by id -> the stage's JSON record.

    A keyword whose search fails is recorded under ``errors`` and skipped.
    """
    if backend not in BACKENDS:
        raise SearchError(f"config key retrieval.backend: unknown backend {backend!r} (known: {BACKENDS})")
    if backend == "index" and not index:
        raise SearchError("config key retrieval.index: backend 'index' needs a catalogue path or URL")
    seen: dict[str, Candidate] = {}
    errors = []
    for kw in keywords:
        try:
            found = (search_youtube(kw, n, ydl_opts) if backend == "youtube"
                     else search_index(index, kw, n, **fetch_kw))
        except SearchError:
            raise
        except Exception as e:  # yt-dlp DownloadError, network trouble: record, go on
            log.error("search %r (%s) failed: %s", kw, backend, e)
            errors.append({"keyword": kw, "reason": type(e).__name__, "detail": str(e)})
            continue
        for c in found:
            seen.setdefault(c.id, c)
    log.info("class %s: %d candidates from %d keyword(s) via %s", class_name, len(seen), len(keywords), backend)
    return {"class": class_name, "keywords": list(keywords), "backend": backend, "n": n,
            "candidates": [asdict(c) for c in seen.values()], "errors": errors}


def run(out_json: str, **kw) -> dict[str, Any]:
    """:func:`search` and write its record atomically to ``out_json``."""
    rec = search(**kw)
    write_json(out_json, rec)
    return rec
