"""Stage 3, ``download``: yt-dlp downloads the videos whose thumbnails were kept.

- format capped (``b[height<=?480][ext=mp4]/b[height<=?480]`` by default: a single progressive
  file, no ffmpeg merge needed);
- yt-dlp retries (``retries``, ``fragment_retries``, ``extractor_retries``) and, around them,
  a back-off on rate limiting (HTTP 429): ``backoff_s * 2**attempt`` seconds;
- a yt-dlp download archive in the video folder, so reruns skip finished videos;
- every file is probed with PyAV; an undecodable one (truncated, corrupt, no video stream)
  is deleted, removed from the archive, and recorded with its reason;
- errors (404, private or removed video, unavailable format …) are recorded, never raised.

yt-dlp writes ``*.part`` files and renames them on success, so a killed job leaves no
file that looks complete.
"""

from __future__ import annotations

import json
import logging
import re
import time
from pathlib import Path
from typing import Any

import av

from ..h5io import write_json

log = logging.getLogger("tagseg.retrieval")

DEFAULT_FORMAT = "b[height<=?480][ext=mp4]/b[height<=?480]"


class CorruptVideo(ValueError):
    pass


def classify_error(message: str) -> str:
    """Short reason tag for a yt-dlp error message."""
    m = message.lower()
    if "429" in m or "too many requests" in m or "rate-limit" in m or "rate limit" in m:
        return "rate_limited"
    code = re.search(r"http error (\d{3})", m)
    if code:
        return f"http_{code.group(1)}"
    if "private video" in m:
        return "private"
    if "sign in to confirm your age" in m or "age-restricted" in m:
        return "age_restricted"
    if "removed" in m or "unavailable" in m or "terminated" in m or "does not exist" in m:
        return "unavailable"
    if "no such file" in m or "not found" in m:
        return "not_found"
    if "requested format is not available" in m:
        return "no_format"
    if "unsupported url" in m:
        return "unsupported_url"
    return "download_error"


def probe(path: str | Path) -> dict[str, Any]:
    """Open ``path`` with PyAV and decode its first frame -> {duration s, fps, width, height}.

    Raises :class:`CorruptVideo` naming the file when it cannot be opened or decoded.
    """
    try:
        with av.open(str(path)) as c:
            if not c.streams.video:
                raise CorruptVideo(f"{path}: no video stream")
            s = c.streams.video[0]
            first = next(c.decode(s), None)
            if first is None:
                raise CorruptVideo(f"{path}: no decodable frame")
            dur = (float(s.duration * s.time_base) if s.duration else
                   (c.duration / 1e6 if c.duration else None))
            return {"duration": dur, "fps": float(s.average_rate or s.guessed_rate or 0) or None,
                    "width": s.codec_context.width, "height": s.codec_context.height}
    except CorruptVideo:
        raise
    except (av.error.FFmpegError, StopIteration, OSError, ValueError) as e:
        raise CorruptVideo(f"{path}: {type(e).__name__}: {e}") from None


def _archive_remove(archive: Path, info: dict[str, Any] | None) -> None:
    """Drop ``info``'s line ('{extractor} {id}') from a yt-dlp archive (so a rerun retries it)."""
    if not archive.exists() or not info:
        return
    key = f"{str(info.get('extractor_key') or info.get('ie_key') or '').lower()} {info.get('id')}"
    lines = [ln for ln in archive.read_text().splitlines() if ln.strip().lower() != key.lower()]
    archive.write_text("".join(ln + "\n" for ln in lines))


def _existing(video_dir: Path, vid: str) -> Path | None:
    for p in sorted(video_dir.glob(f"{vid}.*")):
        if p.suffix not in (".part", ".ytdl", ".tmp") and not p.name.endswith(".part"):
            return p
    return None


def download(
    thumbnails_record: dict[str, Any], video_dir: str | Path, max_videos: int = 300,
    fmt: str = DEFAULT_FORMAT, retries: int = 3, backoff_s: float = 2.0, timeout: float = 30.0,
    max_filesize_mb: float | None = 500.0, ydl_opts: dict[str, Any] | None = None, sleep=time.sleep,
) -> dict[str, Any]:
    """Download kept videos (best thumbnail score first) until ``max_videos`` succeeded.

    Files are ``{video_dir}/{id}.{ext}``; the archive is ``{video_dir}/archive.txt``.
    Returns ``{"class", "downloaded": [{id, path, score, title, url, duration, fps, width,
    height, cached}], "errors": [{id, url, reason, detail}], "not_tried": [ids over max]}``.
    """
    import yt_dlp

    video_dir = Path(video_dir)
    video_dir.mkdir(parents=True, exist_ok=True)
    archive = video_dir / "archive.txt"
    downloaded, errors, not_tried = [], [], []
    ylog = logging.getLogger("tagseg.retrieval.yt_dlp")
    for cand in thumbnails_record["kept"]:
        if len(downloaded) >= max_videos:
            not_tried.append(cand["id"])
            continue
        vid = cand["id"]
        opts = {
            "format": fmt,
            "outtmpl": {"default": str(video_dir / f"{vid}.%(ext)s")},
            "download_archive": str(archive),
            "retries": retries, "fragment_retries": retries, "extractor_retries": retries,
            "socket_timeout": timeout, "noplaylist": True, "enable_file_urls": True,
            "quiet": True, "no_warnings": False, "noprogress": True, "logger": ylog,
            **({"max_filesize": int(max_filesize_mb * 2**20)} if max_filesize_mb else {}),
            **(ydl_opts or {}),
        }
        info, err = None, None
        for attempt in range(retries + 1):
            try:
                with yt_dlp.YoutubeDL(opts) as ydl:
                    info = ydl.extract_info(cand["url"], download=True)
                err = None
                break
            except yt_dlp.utils.DownloadError as e:
                err = str(e)
                if classify_error(err) == "rate_limited" and attempt < retries:
                    wait = backoff_s * 2**attempt
                    log.warning("%s: rate limited, backing off %.1f s (attempt %d/%d)",
                                vid, wait, attempt + 1, retries)
                    sleep(wait)
                    continue
                break
        if err is not None:
            errors.append({"id": vid, "url": cand["url"], "reason": classify_error(err), "detail": err})
            log.warning("video %s skipped: %s", vid, err)
            continue
        reqs = (info or {}).get("requested_downloads") or []
        path = Path(reqs[0]["filepath"]) if reqs and reqs[0].get("filepath") else _existing(video_dir, vid)
        if path is None and not reqs and err is None:
            # skipped as "already in archive" but our file is not there: another URL with the
            # same extractor id (the generic extractor's id is the URL's file name) was
            # archived. Download this one without the archive.
            try:
                with yt_dlp.YoutubeDL({**opts, "download_archive": None}) as ydl:
                    info = ydl.extract_info(cand["url"], download=True)
                reqs = (info or {}).get("requested_downloads") or []
                path = Path(reqs[0]["filepath"]) if reqs and reqs[0].get("filepath") else None
            except yt_dlp.utils.DownloadError as e:
                errors.append({"id": vid, "url": cand["url"], "reason": classify_error(str(e)),
                               "detail": str(e)})
                continue
        if path is None or not path.exists():
            reason = "max_filesize" if info and max_filesize_mb else "missing"
            errors.append({"id": vid, "url": cand["url"], "reason": reason,
                           "detail": "yt-dlp finished but no file is on disk (too large, or archived "
                                     "earlier and deleted since)"})
            continue
        try:
            meta = probe(path)
        except CorruptVideo as e:
            errors.append({"id": vid, "url": cand["url"], "reason": "corrupt", "detail": str(e)})
            log.warning("video %s skipped: %s", vid, e)
            path.unlink(missing_ok=True)
            _archive_remove(archive, info)
            continue
        downloaded.append({"id": vid, "path": str(path), "score": cand.get("score"),
                           "title": cand.get("title"), "url": cand["url"], **meta,
                           "cached": not reqs})
    log.info("class %s: %d videos downloaded, %d errors, %d over max_videos",
             thumbnails_record["class"], len(downloaded), len(errors), len(not_tried))
    return {"class": thumbnails_record["class"], "format": fmt, "downloaded": downloaded,
            "errors": errors, "not_tried": not_tried}


def run(thumbnails_json: str, out_json: str, video_dir: str, **kw) -> dict[str, Any]:
    rec = download(json.loads(Path(thumbnails_json).read_text()), video_dir, **kw)
    write_json(out_json, rec)
    return rec
