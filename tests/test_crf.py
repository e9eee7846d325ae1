"""Dense CRF: pydensecrf wrapper and the torch ConvCRF."""

import numpy as np
import pytest
import torch

from tagseg.crf import ConvCRF, CRFParams, batch_crf, dense_crf


def _noisy_halves(h=32, w=48, seed=0):
    rng = np.random.default_rng(seed)
    img = np.zeros((h, w, 3), np.uint8)
    img[:, w // 2:] = 200
    gt = np.zeros((h, w), int)
    gt[:, w // 2:] = 1
    lab = np.where(rng.random((h, w)) < 0.3, 1 - gt, gt)
    p = np.full((2, h, w), 0.4, np.float32)
    p[lab, np.arange(h)[:, None], np.arange(w)[None, :]] = 0.6
    return img, p, gt


def test_dense_crf_cleans_noise_along_edges():
    img, p, gt = _noisy_halves()
    q = dense_crf(img, p)
    assert q.shape == p.shape and q.dtype == np.float32
    assert np.allclose(q.sum(0), 1, atol=1e-4)
    assert (p.argmax(0) == gt).mean() < 0.75
    assert (q.argmax(0) == gt).mean() > 0.98


def test_dense_crf_shape_mismatch_raises():
    img, p, _ = _noisy_halves()
    with pytest.raises(ValueError, match="does not match"):
        dense_crf(img[:-1], p)


@pytest.mark.parametrize("blur", [1, 2])
def test_convcrf_matches_pydensecrf_labels(blur):
    img, p, gt = _noisy_halves()
    q_ref = dense_crf(img, p)
    q = ConvCRF(CRFParams(), window=7, blur=blur)(torch.from_numpy(img).permute(2, 0, 1)[None].float(),
                                                  torch.from_numpy(p)[None])
    assert q.shape == (1, 2) + gt.shape
    assert torch.allclose(q.sum(1), torch.ones(1), atol=1e-4)
    agree = (q[0].argmax(0).numpy() == q_ref.argmax(0)).mean()
    assert agree > 0.98
    assert (q[0].argmax(0).numpy() == gt).mean() > 0.98


def test_convcrf_zero_compat_is_identity():
    img, p, _ = _noisy_halves()
    crf = ConvCRF(CRFParams(gauss_compat=0, bilateral_compat=0), window=3, blur=1)
    q = crf(torch.from_numpy(img).permute(2, 0, 1)[None].float(), torch.from_numpy(p)[None])
    assert torch.allclose(q[0], torch.from_numpy(p), atol=1e-5)


def test_batch_crf_backends_and_errors():
    img, p, _ = _noisy_halves()
    imgs = torch.from_numpy(np.stack([img, img])).permute(0, 3, 1, 2).float()
    probs = torch.from_numpy(np.stack([p, p]))
    a = batch_crf(imgs, probs, backend="pydensecrf")
    b = batch_crf(imgs, probs, backend="convcrf", blur=1)
    assert a.shape == b.shape == probs.shape
    assert (a.argmax(1) == b.argmax(1)).float().mean() > 0.98
    with pytest.raises(ValueError, match="train.crf.backend"):
        batch_crf(imgs, probs, backend="nope")
    with pytest.raises(ValueError, match="window"):
        ConvCRF(window=4)


def test_crf_params_scale_spatial_widths_with_image_width():
    cfg = {"gauss_sxy": 3.0, "bilateral_sxy": 80.0, "bilateral_srgb": 13.0, "reference_width": 1024}
    p = CRFParams.from_config(cfg, width=256)
    assert (p.gauss_sxy, p.bilateral_sxy) == (0.75, 20.0)
    assert p.bilateral_srgb == 13.0 and p.bilateral_compat == CRFParams().bilateral_compat  # colour, weights kept
    assert CRFParams.from_config(cfg, width=1024) == CRFParams.from_config(cfg)  # at the reference: as given
    assert CRFParams.from_config({**cfg, "reference_width": None}, width=256).bilateral_sxy == 80.0
