import pytest

from tagseg.datasets import manifest as mf
from tagseg.datasets.cityscapes import build_manifest

CFG = {"kind": "cityscapes", "resize": 0.5, "min_tag_fraction": 0.0,
       "shards": {"train": 2, "val": 1}, "iconic": None}


def test_manifest_from_cityscapes_layout(fake_cityscapes, tmp_path):
    m = build_manifest("cs", {**CFG, "root": str(fake_cityscapes)})
    assert m.size == (8, 16)
    assert len(m.split("train")) == 2 and len(m.split("val")) == 2
    s = m.split("train")[0]
    assert s.id == "towntrain_000000_000019"
    assert len(s.frames) == 30 and s.annotated == 19
    assert s.frame_path(0).endswith("towntrain_000000_000019_leftImg8bit.png")
    assert s.tags == ["road", "sky", "car"]  # unlabeled pixel is not a tag
    assert {x.shard for x in m.split("train")} == {0, 1}
    m.save(tmp_path / "m.json")
    again = mf.load(tmp_path / "m.json")
    assert again.snippet(s.id).frames == s.frames and again.size == (8, 16)


def test_min_tag_fraction_drops_small_classes(fake_cityscapes):
    m = build_manifest("cs", {**CFG, "root": str(fake_cityscapes), "min_tag_fraction": 0.3})
    assert m.split("val")[0].tags == ["road", "sky"]  # car covers 1/8 of the frame


def test_missing_root_names_the_config_key(tmp_path):
    with pytest.raises(mf.ManifestError, match=r"datasets\.cs\.root"):
        build_manifest("cs", {**CFG, "root": str(tmp_path / "nowhere")})


def test_missing_annotated_frame_is_named(fake_cityscapes):
    victim = next((fake_cityscapes / "leftImg8bit_sequence").rglob("*_000019_leftImg8bit.png"))
    victim.unlink()
    with pytest.raises(mf.ManifestError, match=victim.name):
        build_manifest("cs", {**CFG, "root": str(fake_cityscapes)})


def test_unknown_label_ids_name_the_file(fake_cityscapes):
    import cv2
    import numpy as np

    gt = next((fake_cityscapes / "gtFine").rglob("*_labelIds.png"))
    cv2.imwrite(str(gt), np.full((16, 32), 77, np.uint8))
    with pytest.raises(ValueError, match=gt.name):
        build_manifest("cs", {**CFG, "root": str(fake_cityscapes)})


def test_corrupt_frame_is_named(fake_cityscapes):
    victim = sorted((fake_cityscapes / "leftImg8bit_sequence" / "train").rglob("*_000019_leftImg8bit.png"))[0]
    victim.write_bytes(b"not a png")
    with pytest.raises(ValueError, match=victim.name):
        build_manifest("cs", {**CFG, "root": str(fake_cityscapes)})


def test_too_few_frames_for_an_offset_is_named(fake_cityscapes):
    m = build_manifest("cs", {**CFG, "root": str(fake_cityscapes)})
    s = m.split("val")[0]
    with pytest.raises(mf.ManifestError, match=f"{s.id}.*offset \\+11"):
        s.frame_path(11)


def test_more_shards_than_snippets_is_an_error(fake_cityscapes):
    with pytest.raises(mf.ManifestError, match=r"shards\.val"):
        build_manifest("cs", {**CFG, "root": str(fake_cityscapes), "shards": {"train": 1, "val": 5}})
