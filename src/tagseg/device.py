"""Torch device selection (config key ``device``) and deterministic algorithms (``deterministic``).

Importing this module does not import torch (the Snakefile's preflight imports it); torch is
imported only by the functions that need it, and :func:`cuda_problem` imports it only when
the config asks for CUDA by name.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from .errors import TagsegError

if TYPE_CHECKING:  # pragma: no cover
    import torch

CUBLAS_WORKSPACE = ":4096:8"
"""``CUBLAS_WORKSPACE_CONFIG`` that makes cuBLAS deterministic (CUDA >= 10.2; set when unset)."""

DETERMINISTIC_MODES = (False, True, "warn")
"""Values of config key ``deterministic``: off | on (an op without a deterministic kernel is an
error naming it) | warn (deterministic kernels where they exist, a warning naming the others)."""


class DeviceError(TagsegError, RuntimeError):
    """The configured device cannot be used here, or deterministic mode met an op without a
    deterministic kernel; the message names the config key."""


def _cuda_index(name: str) -> int | None:
    """N of ``cuda:N``, 0 for ``cuda``, None for any other device name."""
    m = re.fullmatch(r"cuda(?::([0-9]+))?", name.strip())
    if m is None:
        return None
    return int(m.group(1) or 0)


def cuda_problem(name: str, key: str = "device") -> str | None:
    """One line saying why ``name`` (config key ``key``) cannot be used here, or None.

    ``auto`` and ``cpu`` are always usable and never import torch; ``cuda`` / ``cuda:N`` need
    torch to see a CUDA device (N below the device count).
    """
    index = _cuda_index(str(name))
    if index is None:
        return None
    import torch

    if not torch.cuda.is_available():
        why = ("this torch build has no CUDA support" if torch.version.cuda is None
               else "torch finds no CUDA device (no GPU, no driver, or CUDA_VISIBLE_DEVICES hides it)")
        return (f"config key {key!r} is {name!r} but CUDA is not available here: {why}; "
                "set device: cpu or auto (--config device=auto)")
    count = torch.cuda.device_count()
    if index >= count:
        return (f"config key {key!r} is {name!r} but this machine has {count} CUDA device(s) "
                f"(cuda:0..cuda:{count - 1}); set device: cuda or auto")
    return None


def resolve(name: str = "auto") -> torch.device:
    """``auto`` -> CUDA when available, else CPU; ``cpu``/``cuda``/``cuda:N`` as given.

    Asking for CUDA on a machine without it raises :class:`DeviceError` naming the config key.
    """
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    problem = cuda_problem(name)
    if problem:
        raise DeviceError(problem)
    return torch.device(name)


def check_mode(mode: Any, key: str = "deterministic") -> bool | str:
    """``mode`` as one of :data:`DETERMINISTIC_MODES`, or :class:`DeviceError` naming ``key``."""
    for m in DETERMINISTIC_MODES:
        if mode is m or (isinstance(mode, str) and mode == m):
            return m
    raise DeviceError(f"config key {key!r}: {mode!r} is not one of false, true, warn")


def set_deterministic(mode: bool | str) -> None:
    """Switch torch's deterministic algorithms on (``True``), on with warnings (``"warn"``) or
    leave everything as it is (``False``: nothing is touched, torch is not even imported).

    On: ``CUBLAS_WORKSPACE_CONFIG`` (when unset; call before the first CUDA matmul),
    ``torch.use_deterministic_algorithms``, cuDNN deterministic and not benchmarking.
    """
    mode = check_mode(mode)
    if mode is False:
        return
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_WORKSPACE)
    import torch

    torch.use_deterministic_algorithms(True, warn_only=mode == "warn")
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False


NONDETERMINISTIC = re.compile(r"(\S+) does not have a deterministic implementation")
"""How torch names an op without a deterministic kernel (in deterministic mode)."""


def nondeterministic_op(error: BaseException) -> str | None:
    """The op a torch deterministic-mode error names (e.g. ``upsample_bilinear2d_backward_out_cuda``),
    the cuBLAS workspace when that is what it asks for, else None."""
    text = str(error)
    m = NONDETERMINISTIC.search(text)
    if m:
        return m.group(1)
    if "CUBLAS_WORKSPACE_CONFIG" in text:
        return "cuBLAS (CUBLAS_WORKSPACE_CONFIG unset)"
    return None


@contextlib.contextmanager
def deterministic(mode: bool | str, key: str = "deterministic") -> Iterator[None]:
    """Run the body with :func:`set_deterministic` (``mode``: config key ``key``) and restore
    torch's previous settings after it; an op without a deterministic kernel then fails as one
    :class:`DeviceError` line naming it and the key. ``False`` touches nothing."""
    mode = check_mode(mode, key)
    if mode is False:
        yield
        return
    import torch

    before = (torch.are_deterministic_algorithms_enabled(),
              torch.is_deterministic_algorithms_warn_only_enabled(),
              torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
    set_deterministic(mode)
    try:
        yield
    except RuntimeError as e:
        op = nondeterministic_op(e)
        if op is None or isinstance(e, TagsegError):
            raise
        raise DeviceError(f"config key {key!r} is true but {op} has no deterministic "
                          f"implementation on this device; set {key}: warn (deterministic "
                          "kernels where they exist) or false") from e
    finally:
        torch.use_deterministic_algorithms(before[0], warn_only=before[1])
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = before[2], before[3]
