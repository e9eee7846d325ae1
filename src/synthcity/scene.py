"""Scene description: primitives, rigid objects with their own motion, ground layout, lighting.

Every primitive is given by its world-space axis-aligned bounding box at frame 0 and a
kind: ``BOX`` (the box itself), ``CYL`` (the vertical elliptic cylinder inscribed in the
box) or ``ELL`` (the inscribed ellipsoid). A primitive belongs to one rigid object; object
``k`` translates by ``vel[k]`` metres per frame (zero for the static world), so at frame
``t`` a primitive's box is ``lo + t * vel[obj]``. Materials are evaluated at object-local
hit points (``P - lo_t``), so texture moves with the surface.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from tagseg import classes

BOX, CYL, ELL = 0, 1, 2

# Materials (see shade.py for what each parameter means).
(
    M_GRASS, M_PAVING, M_PLASTER, M_BRICK, M_OFFICE, M_CONCRETE, M_FENCE, M_FOLIAGE, M_BARK,
    M_METAL, M_PAINT, M_CABIN, M_TIRE, M_CLOTH, M_HEAD, M_SIGN, M_TLIGHT, M_STONE,
) = range(18)
N_MAT = 18

LID = {name: classes.label(name).label_id for name in classes.CLASS_NAMES}
"""Cityscapes label id of each evaluation class, e.g. ``LID["car"] == 26``."""
EGO_VEHICLE = classes.label("ego_vehicle").label_id
UNLABELED = classes.label("unlabeled").label_id


@dataclass
class Prims:
    """Struct of arrays for N primitives (see module docstring)."""

    kind: np.ndarray  # (N,) int8
    lo: np.ndarray  # (N, 3) float64, metres, frame 0
    hi: np.ndarray  # (N, 3) float64
    label: np.ndarray  # (N,) uint8 Cityscapes label id
    obj: np.ndarray  # (N,) int32 object index
    mat: np.ndarray  # (N,) int16 material
    color: np.ndarray  # (N, 3) float32 linear albedo 0..1
    param: np.ndarray  # (N, 4) float32 material parameters
    toff: np.ndarray  # (N, 2) float32 texture offset, metres

    def __len__(self) -> int:
        return len(self.kind)

    @cached_property
    def size32(self) -> np.ndarray:
        """(N, 3) float32 box sizes, metres."""
        return (self.hi - self.lo).astype(np.float32)


class SceneBuilder:
    """Collects primitives object by object; :meth:`build` returns a :class:`Prims`."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.rows: list[tuple] = []
        self.vel: list[tuple[float, float, float]] = [(0.0, 0.0, 0.0)]  # object 0: static world
        self.obj_label: list[int] = [0]

    def new_object(self, vel=(0.0, 0.0, 0.0), label: int = 0) -> int:
        """Start a rigid object moving ``vel`` metres per frame; returns its index."""
        self.vel.append(tuple(float(v) for v in vel))
        self.obj_label.append(label)
        return len(self.vel) - 1

    def add(self, kind: int, lo, hi, label: str | int, mat: int, color, param=(0, 0, 0, 0),
            obj: int = 0) -> None:
        lo = np.asarray(lo, np.float64)
        hi = np.asarray(hi, np.float64)
        if np.any(hi <= lo):
            return
        lid = LID[label] if isinstance(label, str) else int(label)
        toff = self.rng.uniform(0, 50, 2)
        self.rows.append((kind, lo, hi, lid, obj, mat, tuple(color), tuple(param), toff))

    def box(self, x0, x1, y0, y1, z0, z1, label, mat, color, param=(0, 0, 0, 0), obj=0):
        self.add(BOX, (min(x0, x1), y0, min(z0, z1)), (max(x0, x1), y1, max(z0, z1)), label, mat,
                 color, param, obj)

    def cyl(self, x, z, rx, rz, y0, y1, label, mat, color, param=(0, 0, 0, 0), obj=0):
        self.add(CYL, (x - rx, y0, z - rz), (x + rx, y1, z + rz), label, mat, color, param, obj)

    def ell(self, x, y, z, rx, ry, rz, label, mat, color, param=(0, 0, 0, 0), obj=0):
        self.add(ELL, (x - rx, y - ry, z - rz), (x + rx, y + ry, z + rz), label, mat, color, param,
                 obj)

    def build(self) -> tuple[Prims, np.ndarray]:
        """Return the primitives and (n_obj, 3) float64 object velocities, metres per frame."""
        r = self.rows
        n = len(r)
        prims = Prims(
            kind=np.array([x[0] for x in r], np.int8).reshape(n),
            lo=np.array([x[1] for x in r], np.float64).reshape(n, 3),
            hi=np.array([x[2] for x in r], np.float64).reshape(n, 3),
            label=np.array([x[3] for x in r], np.uint8).reshape(n),
            obj=np.array([x[4] for x in r], np.int32).reshape(n),
            mat=np.array([x[5] for x in r], np.int16).reshape(n),
            color=np.array([x[6] for x in r], np.float32).reshape(n, 3),
            param=np.array([x[7] for x in r], np.float32).reshape(n, 4),
            toff=np.array([x[8] for x in r], np.float32).reshape(n, 2),
        )
        return prims, np.array(self.vel, np.float64).reshape(-1, 3)


@dataclass
class Ground:
    """The ground plane y = 0: road between ``road_x`` and wherever a cross street runs,
    terrain elsewhere; lane marks and crosswalks painted on the road."""

    road_x: tuple[float, float]  # road's x extent, metres
    cross: list[tuple[float, float]]  # z ranges of cross streets (road across all x)
    road_color: tuple[float, float, float]
    terrain_color: tuple[float, float, float]
    # lane lines: (x centre, half width, dash length, period, phase); period 0 = solid
    lines: list[tuple[float, float, float, float, float]] = field(default_factory=list)
    # zebra crossings: (z0, z1, stripe width, stripe period)
    zebras: list[tuple[float, float, float, float]] = field(default_factory=list)
    mark_color: tuple[float, float, float] = (0.8, 0.8, 0.78)
    patch_amp: float = 0.15  # strength of darker repair patches / wear


@dataclass
class Env:
    """Illumination, sky, atmosphere and sensor for one snippet (or one iconic image)."""

    sun_dir: np.ndarray  # (3,) unit vector towards the sun
    sun_color: np.ndarray  # (3,) linear intensity
    ambient: np.ndarray  # (3,) linear intensity of sky light
    sky_horizon: np.ndarray  # (3,) linear radiance
    sky_zenith: np.ndarray  # (3,)
    cloud_amount: float  # 0..1
    fog_dist: float  # metres, e-folding distance of haze
    exposure: float  # global gain
    white_balance: np.ndarray  # (3,) per-channel gain
    noise_sigma: float  # sensor noise std, 8-bit grey levels
    shadow_strength: float  # 0 (overcast) .. 1 (hard sun)


@dataclass
class ShadowMap:
    """Grid of the top-down sun-occlusion maps: cell ``(i, j)`` covers
    ``z0 + i * cell``, ``x0 + j * cell`` (metres)."""

    x0: float
    z0: float
    cell: float


@dataclass
class World:
    """Everything needed to render any frame of one snippet."""

    prims: Prims
    vel: np.ndarray  # (n_obj, 3) metres per frame
    ground: Ground
    env: Env
    shadow: ShadowMap | None = None
    occ_all: np.ndarray | None = None  # (nz, nx) uint8 sun occlusion by all static casters
    occ_tall: np.ndarray | None = None  # (nz, nx) uint8 sun occlusion by tall static casters
    cache: dict = field(default_factory=dict, repr=False)  # per-world memo of derived data

    def boxes_at(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        """(N, 3) lo and hi of all primitives at frame ``t``."""
        d = self.vel[self.prims.obj] * t
        return self.prims.lo + d, self.prims.hi + d

    def moving_objects(self) -> np.ndarray:
        """(n_obj,) bool: object translates on its own."""
        return np.any(self.vel != 0, axis=1)
