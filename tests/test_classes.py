import numpy as np
import pytest

from tagseg import classes


def test_nineteen_eval_classes_in_train_id_order():
    assert classes.NUM_CLASSES == 19
    assert [lab.train_id for lab in classes.TRAIN_LABELS] == list(range(19))
    assert classes.CLASS_NAMES[0] == "road" and classes.CLASS_NAMES[18] == "bicycle"
    assert len(classes.CATEGORIES) == 7


def test_luts_roundtrip_label_and_train_ids():
    to_train, to_label = classes.label_id_to_train_id_lut(), classes.train_id_to_label_id_lut()
    for lab in classes.TRAIN_LABELS:
        assert to_train[lab.label_id] == lab.train_id
        assert to_label[lab.train_id] == lab.label_id
    assert to_train[1] == classes.IGNORE  # ego vehicle is not evaluated


def test_unknown_class_and_unknown_ids_are_named():
    with pytest.raises(KeyError, match="tractor"):
        classes.label("tractor")
    with pytest.raises(ValueError, match="bad.png.*\\[99\\]"):
        classes.to_train_ids(np.array([[7, 99]]), "bad.png")


def test_foreground_are_the_instance_classes():
    assert {"person", "car", "bicycle"} <= classes.FOREGROUND
    assert not {"road", "sky", "building"} & classes.FOREGROUND
