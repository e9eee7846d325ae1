"""Stage 2, ``thumbnails``: fetch each candidate's thumbnail, score it, keep score >= threshold.

Hong et al. §4: a video is downloaded only when its thumbnail's classification score for the
keyword's class is above a threshold (0.8, favouring precision).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..h5io import write_json
from .net import FetchError, fetch
from .scoring import Scorer

log = logging.getLogger("tagseg.retrieval")


class NotAnImage(ValueError):
    pass


def decode_image(data: bytes, source: str = "image") -> np.ndarray:
    """Encoded image bytes (jpeg/png/webp/…) -> (H, W, 3) uint8 RGB; otherwise :class:`NotAnImage`."""
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) if data else None
    if img is None or img.size == 0:
        raise NotAnImage(f"{source}: not a decodable image ({len(data)} bytes)")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def filter_thumbnails(
    search_record: dict[str, Any], class_index: int, scorer: Scorer, threshold: float = 0.8,
    **fetch_kw,
) -> dict[str, Any]:
    """Score every candidate's thumbnail for ``class_index``; keep those >= ``threshold``.

    Returns ``{"class", "threshold", "kept": [candidate + score] (best first),
    "rejected": [{id, score}], "errors": [{id, url, reason, detail}]}``. A missing, rate-limited
    or undecodable thumbnail is an error entry, never an exception.
    """
    kept, rejected, errors = [], [], []
    for cand in search_record["candidates"]:
        url = cand.get("thumbnail")
        try:
            if not url:
                raise FetchError("", "no_thumbnail", "candidate has no thumbnail URL")
            img = decode_image(fetch(url, **fetch_kw), url)
        except FetchError as e:
            errors.append({"id": cand["id"], "url": url, "reason": e.reason, "detail": e.detail})
            log.warning("thumbnail of %s skipped: %s", cand["id"], e)
            continue
        except NotAnImage as e:
            errors.append({"id": cand["id"], "url": url, "reason": "not_an_image", "detail": str(e)})
            log.warning("thumbnail of %s skipped: %s", cand["id"], e)
            continue
        score = float(scorer(img[None])[0, class_index])
        (kept if score >= threshold else rejected).append({**cand, "score": score})
    kept.sort(key=lambda c: -c["score"])
    log.info("class %s: %d/%d thumbnails kept (>= %.2f), %d errors", search_record["class"],
             len(kept), len(search_record["candidates"]), threshold, len(errors))
    return {"class": search_record["class"], "threshold": threshold, "kept": kept,
            "rejected": [{"id": c["id"], "score": c["score"]} for c in rejected], "errors": errors}


def run(search_json: str, out_json: str, class_index: int, scorer: Scorer, threshold: float = 0.8,
        **fetch_kw) -> dict[str, Any]:
    rec = filter_thumbnails(json.loads(Path(search_json).read_text()), class_index, scorer,
                            threshold, **fetch_kw)
    write_json(out_json, rec)
    return rec
