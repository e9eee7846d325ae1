"""Weak losses (Saleh et al. eqs. 2-4, SEC's CRF loss, label cross-entropy)."""

import math

import pytest
import torch

from tagseg.model import losses as L


def test_lse_pool_between_mean_and_max():
    torch.manual_seed(0)
    p = torch.softmax(torch.randn(2, 4, 6, 7) * 3, 1)
    s = L.lse_pool(p, r=5)
    mean = p.flatten(2).mean(-1)
    mx = p.flatten(2).amax(-1)
    assert s.shape == (2, 4)
    assert torch.all(s >= mean - 1e-6) and torch.all(s <= mx + 1e-6)
    # r -> large approaches max; r -> small approaches mean
    assert torch.allclose(L.lse_pool(p, r=1e4), mx, atol=2e-3)
    assert torch.allclose(L.lse_pool(p, r=1e-2), mean, atol=2e-3)


def test_lse_pool_constant_map_exact():
    p = torch.full((1, 2, 3, 3), 0.5)
    assert torch.allclose(L.lse_pool(p, 5), torch.full((1, 2), 0.5))


def test_tag_loss_formula_and_direction():
    # uniform 0.5 probability for 2 classes everywhere: S~ = 0.5 for both
    p = torch.full((1, 2, 4, 4), 0.5)
    tags = torch.tensor([[True, False]])
    assert math.isclose(float(L.tag_loss(p, tags)), -2 * math.log(0.5), rel_tol=1e-5)
    # predicting the tagged class lowers the loss, predicting the absent one raises it
    good = torch.zeros(1, 2, 4, 4); good[:, 0] = 1
    bad = torch.zeros(1, 2, 4, 4); bad[:, 1] = 1
    assert float(L.tag_loss(good, tags)) < 0.01 < float(L.tag_loss(bad, tags))


def test_heatmap_masks_threshold_relative_to_each_max():
    hm = torch.zeros(1, 3, 2, 5)
    hm[0, 0, 0] = torch.tensor([0.0, 0.1, 0.19, 0.21, 1.0])
    hm[0, 1] = 0.3  # flat map: all above 20 % of its max
    m = L.heatmap_masks(hm, 0.2)
    assert m[0, 0, 0].tolist() == [False, False, False, True, True]
    assert m[0, 1].all()
    assert not m[0, 2].any()  # all-zero heatmap -> empty mask


def test_heatmap_loss_eq4_and_class_restriction():
    logp = torch.log(torch.tensor([0.5, 0.25]))[None, :, None, None].expand(1, 2, 2, 2).clone()
    masks = torch.ones(1, 2, 2, 2, dtype=torch.bool)
    tags = torch.tensor([[True, True]])
    full = L.heatmap_loss(logp, masks, tags)
    assert math.isclose(float(full), (math.log(2) + math.log(4)) / 2, rel_tol=1e-5)
    only0 = L.heatmap_loss(logp, masks, tags, classes=torch.tensor([True, False]))
    assert math.isclose(float(only0), math.log(2), rel_tol=1e-5)
    # untagged classes do not count; no usable class -> 0
    none = L.heatmap_loss(logp, masks, torch.tensor([[False, False]]))
    assert float(none) == 0.0


def test_crf_loss_is_kl_and_zero_at_target():
    torch.manual_seed(1)
    p = torch.softmax(torch.randn(2, 3, 4, 4), 1)
    q = torch.softmax(torch.randn(2, 3, 4, 4), 1)
    assert float(L.crf_loss(p, p)) == pytest.approx(0.0, abs=1e-6)
    kl = (q * (q.log() - p.log())).sum(1).mean()
    assert float(L.crf_loss(p, q)) == pytest.approx(float(kl), rel=1e-5)
    # gradient flows to the network side only
    p2 = p.clone().requires_grad_(True)
    q2 = q.clone().requires_grad_(True)
    L.crf_loss(p2, q2).backward()
    assert p2.grad is not None and q2.grad is None


def test_label_loss_ignores_255_and_all_ignored_is_zero():
    logits = torch.zeros(1, 3, 2, 2, requires_grad=True)
    labels = torch.tensor([[[0, 255], [255, 255]]])
    assert L.label_loss(logits, labels).item() == pytest.approx(math.log(3), rel=1e-5)
    z = L.label_loss(logits, torch.full((1, 2, 2), 255))
    assert z.item() == 0.0
    z.backward()  # still differentiable


def test_restrict_to_tags_and_combine():
    p = torch.full((1, 3, 1, 1), 1 / 3)
    r = L.restrict_to_tags(p, torch.tensor([[True, False, True]]))
    assert torch.allclose(r[0, :, 0, 0], torch.tensor([0.5, 0.0, 0.5]))
    same = L.restrict_to_tags(p, torch.tensor([[False, False, False]]))
    assert torch.allclose(same, p)
    total = L.combine({"tag": torch.tensor(2.0), "crf": torch.tensor(3.0)}, {"tag": 0.5, "crf": 2})
    assert float(total) == 7.0
    with pytest.raises(ValueError):
        L.combine({}, {})


def test_partial_tags_drop_the_absent_term_only_for_their_frames():
    # frame 0: complete tags; frame 1: a web video's keyword only (class 1 may be present)
    p = torch.zeros(2, 2, 4, 4); p[:, 1] = 1  # both frames predict class 1 everywhere
    tags = torch.tensor([[True, False], [True, False]])
    both = L.tag_loss(p, tags, complete=torch.tensor([True, True]))
    partial = L.tag_loss(p, tags, complete=torch.tensor([True, False]))
    assert float(partial) < float(both)  # frame 1's class 1 is no longer punished as absent
    only_present = L.tag_loss(p[1:], tags[1:], complete=torch.tensor([False]))
    assert math.isclose(float(only_present), -math.log(float(L.lse_pool(p[1:], 5.0)[0, 0].clamp_min(L.EPS))),
                        rel_tol=1e-5)
    # the CRF's unaries keep every class for a frame with partial tags
    q = torch.full((2, 3, 1, 1), 1 / 3)
    r = L.restrict_to_tags(q, torch.tensor([[True, False, True]] * 2), torch.tensor([True, False]))
    assert torch.allclose(r[0, :, 0, 0], torch.tensor([0.5, 0.0, 0.5])) and torch.allclose(r[1], q[1])
