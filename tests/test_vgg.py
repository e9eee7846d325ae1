"""VGG-16: torchvision parameter names, fully convolutional head, weight loading errors."""

from __future__ import annotations

import pytest
import torch

from tagseg.model.vgg import (
    VGG16,
    WeightsError,
    check_and_load,
    feature_channels,
    fully_convolutional_head,
    init_weights,
    load_imagenet_weights,
    load_state,
    make_features,
)

# torchvision.models.vgg16().state_dict() keys / vgg16_bn conv and BatchNorm indices.
TV_CONV = [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28]
TV_BN_CONV = [0, 3, 7, 10, 14, 17, 20, 24, 27, 30, 34, 37, 40]


def test_state_dict_names_match_torchvision_vgg16():
    keys = list(VGG16(width=0.0625).state_dict())
    expected = [f"features.{i}.{p}" for i in TV_CONV for p in ("weight", "bias")]
    expected += [f"classifier.{i}.{p}" for i in (0, 3, 6) for p in ("weight", "bias")]
    assert keys == expected


def test_full_width_shapes_match_the_official_file():
    # shapes of vgg16-397923af.pth, without allocating the 138M-parameter network
    feats = make_features(1.0)
    shapes = {k: tuple(v.shape) for k, v in feats.state_dict().items()}
    assert shapes["0.weight"] == (64, 3, 3, 3)
    assert shapes["28.weight"] == (512, 512, 3, 3)
    assert feature_channels(1.0) == 512


def test_batch_norm_layout_matches_torchvision_vgg16_bn():
    feats = make_features(0.0625, batch_norm=True, pool5=False)
    convs = [i for i, m in enumerate(feats) if isinstance(m, torch.nn.Conv2d)]
    bns = [i for i, m in enumerate(feats) if isinstance(m, torch.nn.BatchNorm2d)]
    assert convs == TV_BN_CONV
    assert bns == [i + 1 for i in TV_BN_CONV]
    assert len(feats) == 43  # vgg16_bn has 44 modules with pool5
    x = torch.randn(2, 3, 64, 32)
    assert feats(x).shape == (2, feature_channels(0.0625), 4, 2)


def test_fully_convolutional_head_reproduces_the_classifier():
    torch.manual_seed(0)
    vgg = VGG16(width=0.0625, num_classes=10).eval()
    head = fully_convolutional_head(vgg).eval()
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        ref = vgg(x)
        out = head(vgg.features(x))
    assert out.shape == (2, 10, 1, 1)
    torch.testing.assert_close(out[:, :, 0, 0], ref, rtol=1e-4, atol=1e-5)


def test_init_weights_is_kaiming_for_convs():
    torch.manual_seed(0)
    feats = make_features(0.5)
    init_weights(feats)
    w = feats[0].weight.detach()
    fan_out = w.shape[0] * 9
    assert abs(float(w.std()) - (2 / fan_out) ** 0.5) < 0.05
    assert float(feats[0].bias.detach().abs().max()) == 0.0


def test_check_and_load_names_missing_unexpected_and_mismatched_keys():
    vgg = VGG16(width=0.0625, num_classes=5)
    state = vgg.state_dict()
    bad = dict(state)
    bad.pop("features.0.weight")
    bad["features.99.weight"] = torch.zeros(1)
    with pytest.raises(WeightsError, match=r"w\.pth.*features\.0\.weight.*features\.99\.weight"):
        check_and_load(vgg, bad, "w.pth")
    wrong = dict(state)
    wrong["classifier.6.weight"] = torch.zeros(3, 3)
    with pytest.raises(WeightsError, match=r"shape mismatch: classifier\.6\.weight"):
        check_and_load(vgg, wrong, "w.pth")
    other = VGG16(width=0.0625, num_classes=5)
    check_and_load(other, state, "ok")
    torch.testing.assert_close(other.features[0].weight, vgg.features[0].weight)


def test_load_state_and_imagenet_errors_name_file_and_config(tmp_path):
    with pytest.raises(WeightsError, match="nope.pth: weights file not found"):
        load_state(tmp_path / "nope.pth")
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(WeightsError, match="junk.pth: cannot read weights"):
        load_state(junk)
    with pytest.raises(WeightsError, match="heatmaps.imagenet.weights"):
        load_imagenet_weights(VGG16(width=0.0625), None, allow_download=False)
    with pytest.raises(WeightsError, match="width 1.0"):
        load_imagenet_weights(VGG16(width=0.0625), None, allow_download=True)


def test_load_imagenet_weights_from_local_file_of_matching_width(tmp_path):
    torch.manual_seed(1)
    src = VGG16(width=0.0625)
    path = tmp_path / "vgg.pth"
    torch.save(src.state_dict(), path)
    dst = VGG16(width=0.0625)
    load_imagenet_weights(dst, path)
    torch.testing.assert_close(dst.classifier[6].weight, src.classifier[6].weight)
    with pytest.raises(WeightsError, match="vgg.pth: shape mismatch"):
        load_imagenet_weights(VGG16(width=0.125), path)
