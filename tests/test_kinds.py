"""Dataset kinds and their class tables: the registry, ClassTable, and a toy table that flows
through manifest -> stage readers -> evaluation without the Cityscapes table."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from tagseg.classtable import IGNORE, ClassTable, Label
from tagseg.config import section
from tagseg.datasets import cityscapes, kinds, webvideos
from tagseg.datasets.extra import combine
from tagseg.datasets.manifest import Manifest, ManifestError, Snippet, load
from tagseg.heatmaps.model import imagenet_mapping

TOY = ClassTable(
    "toy",
    (
        Label("void", 0, IGNORE, "void", False, True, (0, 0, 0)),
        Label("grass", 3, 2, "nature", False, False, (0, 200, 0)),
        Label("cat", 5, 0, "animal", True, False, (200, 0, 0)),
        Label("dog", 9, 1, "animal", True, False, (0, 0, 200)),
    ),
    imagenet=(("cat", (281, 282)), ("dog", (207,))),
)
"""Names, label ids and train ids unlike Cityscapes' (there, ids 3, 5 and 9 are all void)."""


# --------------------------------------------------------------------------- registry


def test_registry_maps_each_kind_to_its_module():
    assert {"synthcity", "cityscapes", "webvideos", "youtube_objects", "voc", "camvid"} <= set(kinds.MODULES)
    for name in ("synthcity", "cityscapes"):
        k = kinds.get(name)
        assert k.name == name and k.table is cityscapes.TABLE
        assert k.build_manifest is cityscapes.build_manifest and kinds.protocol(name) is cityscapes.evaluate
    web = kinds.get("webvideos")
    assert web.build_manifest is webvideos.build_manifest and web.evaluate is None
    assert kinds.table("webvideos") is cityscapes.TABLE
    with pytest.raises(ValueError, match="'webvideos' has no ground truth"):
        kinds.protocol("webvideos")
    with pytest.raises(kinds.UnknownKindError, match="unknown dataset kind 'no_such'; known kinds: synthcity"):
        kinds.get("no_such")


# --------------------------------------------------------------------------- ClassTable


def test_cityscapes_table_is_the_19_class_table_with_the_imagenet_mapping():
    t = cityscapes.TABLE
    assert t.num_classes == 19 and t.names[0] == "road" and t.names[18] == "bicycle"
    assert list(t.categories) == ["flat", "construction", "object", "nature", "sky", "human", "vehicle"]
    assert t.foreground == {"person", "rider", "car", "truck", "bus", "train", "motorcycle", "bicycle"}
    assert t.background == set(t.names) - t.foreground
    assert t.label_to_train[26] == 13 and t.label_to_train[1] == IGNORE
    assert t.imagenet_classes["bus"] == [654, 779, 874] and "road" not in t.imagenet_classes
    assert ClassTable.from_json(json.loads(json.dumps(t.to_json()))) == t


def test_toy_table_fields_lookups_and_validation():
    assert TOY.names == ("cat", "dog", "grass") and TOY.colors[1] == (0, 0, 200)
    assert TOY.foreground == {"cat", "dog"} and TOY.background == {"grass"}
    assert TOY.train_id("grass") == 2 and TOY.label_to_train == {0: IGNORE, 3: 2, 5: 0, 9: 1}
    assert TOY.to_train_ids(np.array([[5, 9, 3, 0]])).tolist() == [[0, 1, 2, IGNORE]]
    with pytest.raises(ValueError, match=r"unknown toy label ids \[7\]"):
        TOY.to_train_ids(np.array([[5, 7]]), "x.png")
    with pytest.raises(KeyError, match="not one of the 3 evaluation classes of toy"):
        TOY.train_id("void")
    with pytest.raises(ValueError, match="train ids"):
        ClassTable("bad", (Label("a", 1, 0, "c", False, False, (0, 0, 0)),
                           Label("b", 2, 2, "c", False, False, (0, 0, 0))))
    with pytest.raises(ValueError, match="ImageNet mapping of unknown classes"):
        ClassTable("bad", TOY.labels, imagenet=(("horse", (1,)),))


def test_colour_coded_labels_decode_by_colour():
    coloured = ClassTable("toy_rgb", TOY.labels, encoding="colors")
    img = np.array([[[200, 0, 0], [0, 200, 0], [0, 0, 0]]], np.uint8)  # (1, 3, 3) RGB
    assert coloured.decode(img).tolist() == [[5, 3, 0]]
    assert TOY.decode(np.array([[5, 3]])).tolist() == [[5, 3]]  # "ids": as stored
    with pytest.raises(ValueError, match=r"colours \[\(1, 2, 3\)\] are not in the toy_rgb table"):
        coloured.decode(np.array([[[1, 2, 3]]], np.uint8))


def test_config_imagenet_classes_override_entries_of_the_tables_mapping():
    assert imagenet_mapping(cityscapes.TABLE, {"imagenet": {"classes": None}}) == cityscapes.TABLE.imagenet_classes
    m = imagenet_mapping(cityscapes.TABLE, {"imagenet": {"classes": {"car": [1], "bus": []}}})
    assert m["car"] == [1] and "bus" not in m and m["truck"] == cityscapes.TABLE.imagenet_classes["truck"]
    assert imagenet_mapping(TOY, section("heatmaps")) == {"cat": [281, 282], "dog": [207]}


# --------------------------------------------------------------------------- manifest -> stages -> evaluation

H, W = 8, 12


def _toy_dataset(root) -> Manifest:
    """Two val snippets in the Cityscapes layout whose labelIds hold the toy table's ids."""
    snippets = []
    for i in range(2):
        city, sid = "town", f"town_{i:06d}_000019"
        gt = np.full((H, W), 3, np.uint8)  # grass
        gt[: H // 2, : W // 2] = 5  # cat
        gt[H // 2:, W // 2:] = 9 if i == 0 else 0  # dog, or void
        p = root / "gtFine" / "val" / city / f"{sid}_gtFine_labelIds.png"
        p.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(p), gt)
        frame = root / "leftImg8bit_sequence" / "val" / city / f"{sid}_leftImg8bit.png"
        frame.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(frame), np.zeros((H, W, 3), np.uint8))
        tags = cityscapes.snippet_tags(gt, 0.01, str(p), TOY)
        snippets.append(Snippet(id=sid, split="val", city=city, frames=[str(frame)], annotated=0,
                                tags=tags, gt=str(p)))
    return Manifest(dataset="pets", kind="toy", root=str(root), size=(H, W), resize=1.0,
                    classes=list(TOY.names), iconic=None, shards={"val": 1}, snippets=snippets,
                    class_table=TOY)


def test_toy_table_flows_through_manifest_stage_readers_and_evaluation(tmp_path):
    from tagseg.predict import evaluate_variant, label_id_lut
    from tagseg.pseudolabels.quality import ground_truth
    from tagseg.pseudolabels.stage import tag_table
    from tagseg.train.data import foreground_mask, train_id_lut

    _toy_dataset(tmp_path).save(tmp_path / "manifest.json")
    rec = json.loads((tmp_path / "manifest.json").read_text())
    assert rec["class_table"]["name"] == "toy" and list(rec)[-2:] == ["class_table", "snippets"]
    m = load(tmp_path / "manifest.json")
    assert m.table == TOY and m.kind == "toy"
    s0, s1 = m.split("val")
    assert s0.tags == ["cat", "dog", "grass"] and s1.tags == ["cat", "grass"]
    # stage readers: pseudo-label train ids and moving classes, training targets, ground truth
    idx, tid, mov = tag_table(m, s0)
    assert idx.tolist() == [0, 1, 2] and tid.tolist() == [0, 1, 2] and mov.tolist() == [True, True, False]
    assert foreground_mask(m.table, m.classes).tolist() == [True, True, False]
    assert train_id_lut(m.table, ["grass", "cat"])[:3].tolist() == [1, IGNORE, 0]
    gt = ground_truth(s0.gt, (H, W), m.table)
    assert set(np.unique(gt).tolist()) == {0, 1, 2}
    # evaluation: the kind's protocol over the manifest's table; predictions are label ids
    lut = label_id_lut(m.table, m.classes)  # class index -> label id
    assert lut.tolist() == [5, 9, 3]
    pred_root = tmp_path / "predict"
    for s in (s0, s1):
        pred = np.full((H, W), 2)  # all grass...
        pred[: H // 2, : W // 2] = 0  # ...but the cat
        out = pred_root / "raw" / s.city / f"{s.id}_toy_labelIds.png"
        out.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(out), lut[pred])
    (pred_root / "crf").symlink_to(pred_root / "raw")
    kinds.MODULES["toy"] = "tagseg.datasets.cityscapes"  # the Cityscapes layout and protocol
    cityscapes.KINDS["toy"] = kinds.Kind("toy", TOY, cityscapes.build_manifest, cityscapes.evaluate)
    try:
        r = evaluate_variant(m, "val", pred_root, "toy", tmp_path / "toy.json")
    finally:
        del kinds.MODULES["toy"], cityscapes.KINDS["toy"]
    crf = r["crf"]
    assert crf["confusion_rows"] == ["cat", "dog", "grass"] and len(crf["confusion_matrix"][0]) == 4
    assert crf["class_iou"]["cat"] == 1.0 and crf["class_iou"]["dog"] == 0.0
    dog = H // 2 * (W - W // 2)
    grass = 2 * H * W - 2 * (H // 2 * W // 2) - 2 * dog
    assert crf["class_iou"]["grass"] == pytest.approx(grass / (grass + dog))
    assert crf["category_iou"] == {"animal": pytest.approx(2 * 24 / (2 * 24 + dog)),
                                   "nature": pytest.approx(grass / (grass + dog))}
    assert json.loads((tmp_path / "toy.json").read_text())["dataset"] == "pets"


def test_manifest_checks_classes_against_its_table_and_tables_must_agree(tmp_path):
    with pytest.raises(ManifestError, match=r"classes \['road'\] are not evaluation classes of its "
                                            r"class table 'toy'"):
        Manifest("pets", "toy", "r", (H, W), 1.0, ["cat", "road"], None, {"val": 1}, [], TOY)
    with pytest.raises(ManifestError, match="unknown dataset kind 'toy'.*records no class table"):
        Manifest("pets", "toy", "r", (H, W), 1.0, ["cat"], None, {"val": 1}, [])
    city = Manifest("c", "cityscapes", "r", (H, W), 1.0, list(cityscapes.TABLE.names), None,
                    {"train": 1}, [])
    assert city.table is cityscapes.TABLE  # a manifest without a record gets its kind's table
    toy = Manifest("pets", "toy", "r", (H, W), 1.0, ["cat"], None,
                   {"train": 1}, [], TOY)
    with pytest.raises(ManifestError, match="class table toy"):
        combine(city, [toy])
