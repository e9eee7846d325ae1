"""Two-stream network: shapes, fusion, bilinear deconvolution, backbone initialisation."""

import pytest
import torch

from tagseg.model.two_stream import NetConfig, TwoStreamNet, bilinear_kernel
from tagseg.model.vgg import VGG16, WeightsError


def _net(**kw):
    cfg = dict(num_classes=5, width=0.0625, flow_channels=4, head_channels=256, dropout=0.0)
    cfg.update(kw)
    return TwoStreamNet(NetConfig(**cfg))


@pytest.mark.parametrize("two_stream", [False, True])
@pytest.mark.parametrize("stride", [8, 16])
def test_output_shape_any_size(two_stream, stride):
    net = _net(two_stream=two_stream, output_stride=stride).eval()
    x = torch.randn(2, 3, 40, 70)  # not a multiple of the stride
    f = torch.randn(2, 4, 40, 70) if two_stream else None
    assert net(x, f).shape == (2, 5, 40, 70)


def test_two_stream_uses_flow_and_early_fusion_is_a_conv():
    torch.manual_seed(0)
    net = _net(two_stream=True).eval()
    assert isinstance(net.fusion[0], torch.nn.Conv2d)
    c = net.fusion[0].in_channels
    assert c == 2 * net.fusion[0].out_channels  # over the concatenated conv5_3 activations
    x = torch.randn(1, 3, 32, 32)
    a = net(x, torch.zeros(1, 4, 32, 32))
    b = net(x, torch.randn(1, 4, 32, 32) * 5)
    assert not torch.allclose(a, b)
    single = _net(two_stream=False)
    assert not hasattr(single, "motion")


def test_wrong_flow_depth_is_a_clear_error():
    net = _net(two_stream=True)
    with pytest.raises(ValueError, match="flow_L"):
        net(torch.randn(1, 3, 32, 32), torch.randn(1, 6, 32, 32))
    with pytest.raises(ValueError, match="flow stack"):
        net(torch.randn(1, 3, 32, 32))


def test_deconvolution_starts_as_bilinear_upsampling():
    net = _net(two_stream=False, output_stride=16)
    scores = torch.zeros(1, 5, 4, 4)
    scores[:, :, :, 2:] = 1.0
    up = net.upsample(scores)
    assert up.shape == (1, 5, 64, 64)
    # constant input stays constant inside; step is monotone and per-class
    ones = net.upsample(torch.ones(1, 5, 4, 4))
    assert torch.allclose(ones[..., 16:48, 16:48], torch.ones(1), atol=1e-6)
    row = up[0, 0, 32, :48]
    assert torch.all(row[1:] >= row[:-1] - 1e-6)
    k = bilinear_kernel(1, 4)[0, 0]
    assert torch.allclose(k, k.T) and float(k.max()) == pytest.approx(0.5625)


def test_load_backbone_from_vgg_features_and_motion_init():
    vgg = VGG16(width=0.0625, num_classes=3)
    state = {f"features.{k}": v for k, v in vgg.features.state_dict().items()}
    net = _net(two_stream=True)
    net.load_backbone(state, "test-vgg")
    assert torch.equal(net.appearance[2].weight, vgg.features[2].weight)
    assert torch.equal(net.motion[2].weight, vgg.features[2].weight)
    w0 = vgg.features[0].weight
    assert net.motion[0].weight.shape[1] == 4
    assert torch.allclose(net.motion[0].weight[:, 1], w0.mean(1))
    wrong = VGG16(width=0.125, num_classes=3)
    bad = {f"features.{k}": v for k, v in wrong.features.state_dict().items()}
    with pytest.raises(WeightsError, match="shape mismatch"):
        _net(two_stream=True).load_backbone(bad, "wide-vgg")


def test_bad_output_stride():
    with pytest.raises(ValueError, match="output_stride"):
        _net(output_stride=32)


def test_constant_scores_give_constant_output_to_the_border():
    net = _net(two_stream=False, output_stride=16, num_classes=2)
    with torch.no_grad():
        for m in [net.appearance_head[-1]]:
            m.weight.zero_()
            m.bias.copy_(torch.tensor([1.0, -1.0]))
    out = net(torch.randn(1, 3, 40, 70))
    assert torch.allclose(out[0, 0], torch.ones(40, 70), atol=1e-5)


@pytest.mark.parametrize("stride", [8, 16])
def test_batch_norm_layout_and_vgg16_bn_init(stride):
    net = _net(two_stream=True, batch_norm=True, output_stride=stride).train()
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in net.appearance)
    assert net(torch.randn(2, 3, 48, 48), torch.randn(2, 4, 48, 48)).shape == (2, 5, 48, 48)
    bn = VGG16(width=0.0625, num_classes=3, batch_norm=True)
    state = {f"features.{k}": v for k, v in bn.features.state_dict().items()}
    net.load_backbone(state, "vgg16_bn")
    assert torch.equal(net.motion[3].weight, bn.features[3].weight)
