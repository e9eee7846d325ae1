"""synthcity: the synthetic-world renderers beside tagseg (installed by the same ``pip install -e .``).

It renders an embedded street-scene video dataset in exact Cityscapes layout: a small 3-D
street world (road, sidewalks, buildings, vegetation, street furniture, parked and moving
vehicles, pedestrians, cyclists) is ray cast per pixel with numpy from a pinhole camera
driving along the street. Ground truth comes with it: Cityscapes label ids of the annotated
frame, exact forward optical flow from the 3-D motion with occlusion and independent-motion
masks, and iconic images per class. See :func:`render`. It also renders synthetic web videos
with recorded truth (:mod:`.web`) and textured frame pairs with exact flow (:mod:`.flow_pairs`).

tagseg uses it only through the workflow (rules ``synthesize`` and ``retrieval_webvideos``,
their preflight check) and the ``tagseg synth`` command; its library never imports it.

Modules: ``camera`` (pinhole model), ``scene`` (primitives, objects, lighting),
``objects`` (object models), ``street`` (random street worlds), ``raycast`` (vectorised
ray casting), ``shade`` (materials, sky, haze, sensor), ``shadows`` (cast shadows),
``textures`` (material texture atlas), ``flow_gt`` (exact flow), ``video`` (one snippet),
``iconic_images`` (iconic images), ``dataset`` (the Cityscapes-layout tree, :func:`render`),
``shots`` (street shots for web videos), ``web`` (web videos, thumbnails, catalogue, truth),
``flow_pairs`` (textured frame pairs with exact flow, for tests and benchmarks), ``layouts``
(the dataset layouts it writes by name: ``cityscapes``, ``youtube_objects``).
"""

from .dataset import CITIES, MARKER, SPLITS, RootNotOurs, check_root, is_render, render, snippet_id
from .street import DENSITY_KEYS

__all__ = ["CITIES", "DENSITY_KEYS", "MARKER", "SPLITS", "RootNotOurs", "check_root", "is_render",
           "render", "snippet_id"]
