"""YouTube backend, tested at the yt-dlp boundary: ``YoutubeDL.extract_info`` is patched with
answers of the real shape (flat ``ytsearchN:`` playlists; errors as yt-dlp words them)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yt_dlp

from synthcity import web as web_render
from tagseg.retrieval import download, search


def _entry(vid, title, duration, live=None, shorts=False):
    """A flat ytsearch entry as yt-dlp's YoutubeSearchIE returns it (url_result of YoutubeIE)."""
    return {
        "_type": "url", "ie_key": "Youtube", "id": vid,
        "url": f"https://www.youtube.com/{'shorts/' + vid if shorts else 'watch?v=' + vid}",
        "title": title, "description": None, "duration": duration,
        "channel_id": "UCxxxxxxxxxxxxxxxxxxxxxx", "channel": "Some channel",
        "channel_url": "https://www.youtube.com/channel/UCxxxxxxxxxxxxxxxxxxxxxx",
        "uploader": "Some channel", "timestamp": None, "release_timestamp": None,
        "availability": None, "view_count": 12345, "live_status": live,
        "thumbnails": [
            {"url": f"https://i.ytimg.com/vi/{vid}/hq720.jpg?sqp=-oaymwEc&rs=AOn4", "height": 202, "width": 360},
            {"url": f"https://i.ytimg.com/vi/{vid}/hq720.jpg?sqp=-oaymwEcCNAF&rs=AOn4", "height": 404, "width": 720},
        ],
        "channel_is_verified": None, "__x_forwarded_for_ip": None,
    }


def _search_answer(query, entries):
    return {"id": query.split(":", 1)[1], "title": query.split(":", 1)[1], "_type": "playlist",
            "entries": entries, "webpage_url": query, "original_url": query,
            "webpage_url_basename": query.split(":", 1)[1], "extractor": "youtube:search",
            "extractor_key": "YoutubeSearch", "epoch": 1700000000}


def test_youtube_search_flat(monkeypatch):
    calls = []

    def fake(self, url, download=True, **kw):
        calls.append((url, download, self.params))
        return _search_answer(url, [
            _entry("aaaaaaaaaaa", "Car driving in the city 4K", 612.0),
            _entry("bbbbbbbbbbb", "LIVE traffic cam", None, live="is_live"),
            _entry("ccccccccccc", "car #shorts", 31.0, shorts=True),
            _entry("aaaaaaaaaaa", "duplicate of the first", 612.0),
        ][: int(url[len("ytsearch"):].split(":")[0])])

    monkeypatch.setattr(yt_dlp.YoutubeDL, "extract_info", fake)
    rec = search.search("car", ["car driving", "street car"], 4, "youtube")
    assert [c[0] for c in calls] == ["ytsearch4:car driving", "ytsearch4:street car"]
    assert all(not c[1] and c[2]["extract_flat"] == "in_playlist" for c in calls)
    cands = rec["candidates"]
    assert [c["id"] for c in cands] == ["aaaaaaaaaaa", "ccccccccccc"]  # live skipped, deduped
    a = cands[0]
    assert a["url"] == "https://www.youtube.com/watch?v=aaaaaaaaaaa" and a["duration"] == 612.0
    assert "CNAF" in a["thumbnail"]  # the largest thumbnail
    assert a["keyword"] == "car driving" and rec["backend"] == "youtube"
    assert cands[1]["url"].endswith("/shorts/ccccccccccc")


def test_youtube_search_error_is_recorded(monkeypatch):
    def fake(self, url, download=True, **kw):
        if "bad" in url:
            raise yt_dlp.utils.DownloadError(
                "ERROR: [youtube:search] bad: Unable to download API page: HTTP Error 429: Too Many Requests")
        return _search_answer(url, [_entry("ddddddddddd", "ok", 10.0)])

    monkeypatch.setattr(yt_dlp.YoutubeDL, "extract_info", fake)
    rec = search.search("car", ["bad", "good"], 2, "youtube")
    assert [c["id"] for c in rec["candidates"]] == ["ddddddddddd"]
    assert rec["errors"][0]["keyword"] == "bad" and "429" in rec["errors"][0]["detail"]


@pytest.fixture(scope="module")
def mp4(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("yt")
    web_render.render(root, ["car"], videos_per_keyword=1, seconds=3, fps=10, width=64, height=48,
                     faults=False, style="bands")
    return root / "videos" / "car-000.mp4"


def test_youtube_download_errors_backoff_and_success(monkeypatch, tmp_path, mp4):
    attempts = {"rate": 0}
    seen_params = []

    def fake(self, url, download=True, **kw):
        vid = url.rsplit("=", 1)[1]
        seen_params.append(self.params)
        if vid == "private0000":
            raise yt_dlp.utils.DownloadError(
                f"ERROR: [youtube] {vid}: Private video. Sign in if you've been granted access to this video")
        if vid == "removed0000":
            raise yt_dlp.utils.DownloadError(
                f"ERROR: [youtube] {vid}: Video unavailable. This video has been removed by the uploader")
        if vid == "ratelimit00" and attempts["rate"] < 2:
            attempts["rate"] += 1
            raise yt_dlp.utils.DownloadError(
                f"ERROR: [youtube] {vid}: Unable to download webpage: HTTP Error 429: Too Many Requests")
        out = Path(self.params["outtmpl"]["default"].replace("%(ext)s", "mp4"))
        shutil.copy(mp4, out)
        return {"id": vid, "extractor_key": "Youtube", "ext": "mp4", "height": 360,
                "requested_downloads": [{"filepath": str(out), "ext": "mp4"}]}

    monkeypatch.setattr(yt_dlp.YoutubeDL, "extract_info", fake)
    kept = {"class": "car", "kept": [
        {"id": v, "url": f"https://www.youtube.com/watch?v={v}", "score": 0.9}
        for v in ("private0000", "removed0000", "ratelimit00", "goodvideo00")]}
    waits = []
    d = download.download(kept, tmp_path, retries=3, backoff_s=1.0, sleep=waits.append)
    assert [x["id"] for x in d["downloaded"]] == ["ratelimit00", "goodvideo00"]
    assert {e["id"]: e["reason"] for e in d["errors"]} == {
        "private0000": "private", "removed0000": "unavailable"}
    assert waits == [1.0, 2.0]
    p = seen_params[0]
    assert p["format"] == download.DEFAULT_FORMAT and "480" in p["format"]
    assert p["download_archive"] == str(tmp_path / "archive.txt") and p["retries"] == 3
    assert d["downloaded"][1]["fps"] == pytest.approx(10.0)


@pytest.mark.parametrize("msg,reason", [
    ("ERROR: [youtube] x: Sign in to confirm your age. This video may be inappropriate", "age_restricted"),
    ("ERROR: [youtube] x: Requested format is not available. Use --list-formats", "no_format"),
    ("ERROR: [generic] x: Unable to download webpage: HTTP Error 403: Forbidden", "http_403"),
    ("ERROR: [youtube] x: This video is no longer available because the YouTube account "
     "associated with this video has been terminated.", "unavailable"),
    ("ERROR: something else", "download_error"),
])
def test_classify_error(msg, reason):
    assert download.classify_error(msg) == reason
