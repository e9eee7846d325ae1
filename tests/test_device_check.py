"""The GPU check (issue 19): bench/device_check.py's CPU --tiny mode, the device preflight of the
workflow (device: cuda without a GPU), and the config switch `deterministic`."""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

import snakemake_runs as sr
from tagseg import device as tdev
from tagseg.errors import TagsegError

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "bench" / "device_check.py"


def _device_check():
    spec = importlib.util.spec_from_file_location("device_check", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture
def one_thread():
    """torch on 1 CPU thread for the in-process training steps (2 threads on a loaded 2-core
    machine spin-wait: 40x slower), restored afterwards."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _numbers(obj):
    if isinstance(obj, bool):
        return []
    if isinstance(obj, (int, float)):
        return [obj]
    if isinstance(obj, dict):
        return [x for v in obj.values() for x in _numbers(v)]
    if isinstance(obj, list):
        return [x for v in obj for x in _numbers(v)]
    return []


def test_cpu_tiny_run_reports_every_section(tmp_path):
    """`--device cpu --tiny` runs every section and writes them all with numeric values (speed is
    not asserted: only that each figure was measured, and the relations that hold on any CPU)."""
    out = tmp_path / "dc.json"
    r = subprocess.run([sys.executable, str(SCRIPT), "--device", "cpu", "--tiny", "--out", str(out),
                        "--workdir", str(tmp_path / "work")], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, (r.stdout + r.stderr)[-4000:]
    rep = json.loads(out.read_text())
    assert rep["errors"] == {}
    for name in ("render", "flow", "heatmaps", "training", "inference", "determinism", "projection"):
        assert "error" not in rep[name], (name, rep[name])
        nums = _numbers({k: v for k, v in rep[name].items() if k != "seconds"})
        assert nums and all(math.isfinite(x) for x in nums), (name, rep[name])
    assert "CUDA only" in rep["main_job"]["skipped"]
    fl = rep["flow"]
    for k in ("opencv_1thread", "opencv_all", "torch"):
        assert fl[k]["pairs_per_s"] > 0
    assert 0 < fl["opencv_all"]["epe_px"] < 5 and 0 < fl["torch"]["epe_px"] < 5  # px at 64x32
    assert {(r["backbone"], r["precision"]) for r in rep["heatmaps"]["rows"]} == {
        ("efficientnet_lite0", "fp32"), ("efficientnet_lite0", "bf16"), ("vgg16", "fp32"), ("vgg16", "bf16")}
    rows = rep["training"]["rows"]
    assert {(r["backbone"], r["batch"], r["amp"]) for r in rows} == {
        (b, n, a) for b in ("vgg16", "efficientnet_lite0") for n in (1, 4) for a in ("off", "bf16")}
    assert all(r["it_per_s"] > 0 and r["peak_gpu_mib"] is None for r in rows)  # CPU: no GPU memory
    mi = rep["inference"]["miou"]
    assert all(0 <= mi[k] <= 1 for k in ("raw", "pydensecrf", "convcrf"))
    assert mi["convcrf_minus_pydensecrf"] == pytest.approx(mi["convcrf"] - mi["pydensecrf"])
    det = rep["determinism"]
    assert det["default"]["equal"] and det["deterministic_warn"]["equal"]  # CPU training is deterministic
    assert det["default"]["digest"] == det["deterministic_warn"]["digest"]  # and the switch changes nothing
    assert {g["goal"].split(" (")[0] for g in rep["goals"]} >= {"torch TV-L1 pairs/s / OpenCV 1 thread",
                                                               "inference + ConvCRF, s per image",
                                                               "training it/s at batch 1, best setting"}
    assert all(g["met"] is None for g in rep["goals"])  # not judged below 1024x512
    pr = rep["projection"]
    assert pr["flow_pairs"] == 3475 * 10 and pr["heatmap_frames"] == 3475 * 10  # L = 10, offsets -4..5
    assert "| flow | torch TV-L1 on cpu" in r.stdout and "NOT a projection" in r.stdout


def test_device_check_refuses_cuda_without_a_gpu(tmp_path):
    if tdev.cuda_problem("cuda") is None:
        pytest.skip("a CUDA device is present")
    r = subprocess.run([sys.executable, str(SCRIPT), "--device", "cuda", "--out", str(tmp_path / "x.json")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "config key '--device' is 'cuda'" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "x.json").exists()


def test_determinism_child_prints_its_runs_as_json(capsys, one_thread):
    """The fresh-process half of the determinism section (used on CUDA) speaks JSON."""
    dc = _device_check()
    args = {"mode": "warn", "device": "cpu", "size": [32, 16], "steps": 1, "batch": 1}
    assert dc.main(["--determinism-child", json.dumps(args)]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["mode"] == "warn" and out["equal"] is True and out["max_abs_diff"] == 0.0
    assert out["nondeterministic_ops"] == []
    import torch

    assert not torch.are_deterministic_algorithms_enabled()  # restored afterwards


def test_cuda_device_without_gpu_stops_before_any_job(tmp_path):
    """`device: cuda` on a machine without CUDA: one line naming the config key, from the
    onstart preflight, before the first job (nothing rendered), not a crash inside a job."""
    if tdev.cuda_problem("cuda") is None:
        pytest.skip("a CUDA device is present")
    sr.write_config(tmp_path)
    r = sr.snakemake(tmp_path, "--cores", "1", "--config", "device=cuda", "--",
                     f"{sr.RESULTS}/classifiers/model.pt", check=False, timeout=300)
    out = r.stdout + r.stderr
    assert r.returncode != 0 and "Traceback" not in out, out[-3000:]
    last = out.strip().splitlines()[-1]
    assert last.startswith("tagseg: config key 'device' is 'cuda' but CUDA is not available here"), last
    assert "rule classifiers" in last and "set device: cpu or auto" in last
    assert sum("config key 'device'" in line for line in out.splitlines()) == 1
    assert not (tmp_path / "data").exists() and not (tmp_path / sr.RESULTS).exists()  # no job ran


def test_cuda_problem_names_the_key_and_imports_torch_only_for_cuda():
    code = ("import sys; from tagseg.device import cuda_problem; "
            "assert cuda_problem('cpu') is None and cuda_problem('auto') is None; "
            "print('torch' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                       env=sr.env())
    assert r.returncode == 0 and r.stdout.strip() == "False", r.stderr  # the Snakefile's import stays light
    if tdev.cuda_problem("cuda") is None:
        pytest.skip("a CUDA device is present")
    assert tdev.cuda_problem("cuda:1", key="gpu").startswith("config key 'gpu' is 'cuda:1' but CUDA")
    with pytest.raises(TagsegError, match="config key 'device' is 'cuda:3'"):
        tdev.resolve("cuda:3")  # inside a job (e.g. under a cluster executor): one line, no crash


def test_deterministic_switch_values_and_kernel_errors():
    import torch

    assert tdev.check_mode(False) is False and tdev.check_mode("warn") == "warn"
    with pytest.raises(TagsegError, match="config key 'deterministic': 'yes' is not one of"):
        tdev.check_mode("yes")
    with pytest.raises(tdev.DeviceError, match="config key 'deterministic' is true but "
                                               "upsample_bilinear2d_backward_out_cuda has no deterministic"):
        with tdev.deterministic(True):
            assert torch.are_deterministic_algorithms_enabled()
            raise RuntimeError("upsample_bilinear2d_backward_out_cuda does not have a deterministic "
                               "implementation, but you set 'torch.use_deterministic_algorithms(True)'")
    assert not torch.are_deterministic_algorithms_enabled()  # restored
    with pytest.raises(RuntimeError, match="unrelated"):  # other errors pass through unchanged
        with tdev.deterministic("warn"):
            raise RuntimeError("unrelated")
    assert not torch.are_deterministic_algorithms_enabled()


def test_deterministic_mode_changes_no_cpu_result(one_thread):
    """config `deterministic: true` on the CPU: the same weights after training steps as off."""
    import torch

    dc = _device_check()
    cfg = dc.load_config()
    cpu = torch.device("cpu")
    off = dc.weights_after(cfg, cpu, (32, 16), 2, 2)
    with tdev.deterministic(True):
        on = dc.weights_after(cfg, cpu, (32, 16), 2, 2)
    assert torch.equal(off, on)


def test_goals_projection_and_table_of_a_full_size_cuda_report():
    """The parts only a GPU run reaches (goals judged at 1024x512, the projection, the main job's
    rows of the table) on a report shaped like one: figures made up for the test."""
    dc = _device_check()
    rep = {"meta": {"device": "cuda", "device_name": "GPU", "torch": "x", "cpu_cores": 16, "size": [1024, 512],
                    "seconds": 400.0},
           "flow": {"size": [1024, 512], "opencv_1thread": {"pairs_per_s": 0.5},
                    "opencv_all": {"threads": 16, "pairs_per_s": 4.0, "epe_px": 7.0},
                    "torch": {"device": "cuda", "batch_size": 8, "pairs_per_s": 40.0, "epe_px": 7.5},
                    "speedup_torch_vs_opencv_1thread": 80.0, "epe_ratio_torch_vs_opencv": 7.5 / 7.0},
           "heatmaps": {"rows": [{"backbone": "vgg16", "width": 0.125, "precision": "bf16", "frames_per_s": 100.0}]},
           "training": {"rows": [
               {"backbone": "vgg16", "width": 1.0, "batch": 1, "amp": "bf16", "it_per_s": 4.0, "peak_gpu_mib": 9000.0},
               {"backbone": "vgg16", "width": 0.125, "batch": 1, "amp": "off", "it_per_s": 20.0, "peak_gpu_mib": 900.0},
               {"backbone": "vgg16", "width": 1.0, "batch": 4, "amp": "off", "error": "out of memory: x"}]},
           "inference": {"device": "cuda", "raw": {"s_per_image": 0.02},
                         "pydensecrf_cpu": {"s_per_image": 1.5}, "convcrf_device": {"s_per_image": 0.05},
                         "miou": {"raw": 0.5, "pydensecrf": 0.55, "convcrf": 0.54, "convcrf_minus_pydensecrf": -0.01}},
           "determinism": {"default": {"equal": False, "max_abs_diff": 1e-6, "nondeterministic_ops": []},
                           "deterministic_warn": {"equal": True, "max_abs_diff": 0.0,
                                                  "nondeterministic_ops": ["upsample_bilinear2d_backward_out_cuda"]}},
           "main_job": {"runs": {"cuda": {"rc": 0, "seconds": 90.0, "miou_raw": 0.1, "miou_crf": 0.11},
                                 "cpu": {"rc": "timed out after 60 s", "seconds": 60.0, "log_tail": "..."}}},
           "errors": {}}
    g = {x["goal"]: x for x in dc.goals(rep)}
    assert g["torch TV-L1 pairs/s / OpenCV 1 thread (>=)"]["met"] is True
    assert g["torch TV-L1 EPE / OpenCV EPE (<=)"]["met"] is True  # 1.07 <= 1.1
    assert g["inference + ConvCRF, s per image (<=)"]["met"] is True
    assert g["inference + pydensecrf, s per image (<=)"]["met"] is False
    assert g["training it/s at batch 1, best setting (>=)"]["value"] == 20.0
    assert g["training it/s at batch 1, VGG-16 width 1.0 (paper), best AMP (>=)"]["met"] is False
    rep["goals"] = list(g.values())
    cfg = dc.load_config()
    rep["projection"] = pr = dc.projection(rep, cfg)
    assert pr["flow_torch_h"] == pytest.approx(34750 / 40.0 / 3600)
    assert pr["heatmaps_h"]["hours"] == pytest.approx(34750 / 100.0 / 3600)
    assert pr["train_h_per_epoch"]["vgg16 w1.0 batch 1 amp bf16"] == pytest.approx(2975 / 4.0 / 3600)
    assert pr["inference_val_h"]["convcrf"] == pytest.approx(500 * 0.05 / 3600)
    text = dc.table(rep)
    assert "| main job | device=cuda: rc 0, mIoU raw / crf | 0.1 / 0.11 |" in text
    assert "upsample_bilinear2d_backward_out_cuda" in text and "the paper's size" in text
    assert "| NOT met |" in text and "out of memory" in text
