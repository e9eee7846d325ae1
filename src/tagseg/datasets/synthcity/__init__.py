"""synthcity: an embedded street-scene video dataset in exact Cityscapes layout.

A small 3-D street world (road, sidewalks, buildings, vegetation, street furniture, parked
and moving vehicles, pedestrians, cyclists) is ray cast per pixel with numpy from a pinhole
camera driving along the street. Ground truth comes with it: Cityscapes label ids of the
annotated frame, exact forward optical flow from the 3-D motion with occlusion and
independent-motion masks, and iconic images per class. See :func:`render`.

Modules: ``camera`` (pinhole model), ``scene`` (primitives, objects, lighting),
``objects`` (object models), ``street`` (random street worlds), ``raycast`` (vectorised
ray casting), ``shade`` (materials, sky, haze, sensor), ``shadows`` (cast shadows),
``flow`` (exact flow), ``video`` (one snippet), ``iconic`` (iconic images), ``dataset``
(the Cityscapes-layout tree, :func:`render`).
"""

from .dataset import CITIES, MARKER, SPLITS, RootNotOurs, check_root, is_render, render, snippet_id
from .street import DENSITY_KEYS

__all__ = ["CITIES", "DENSITY_KEYS", "MARKER", "SPLITS", "RootNotOurs", "check_root", "is_render",
           "render", "snippet_id"]
