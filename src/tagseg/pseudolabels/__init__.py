"""Pseudo-labels from tags (Hong et al. CVPR 2017, §3.2), extended to several tagged classes.

Superpixels (:mod:`.superpixels`) -> spatio-temporal graph (:mod:`.graph`) -> unaries from
attention, weighted-EM colour GMMs (:mod:`.gmm`) and Papazoglou-Ferrari inside-outside motion
maps (:mod:`.motion`) (:mod:`.unaries`) -> Potts α-expansion or per-class cuts with PyMaxflow
(:mod:`.solve`). :func:`.pipeline.label_window` runs it on numpy arrays; :mod:`.stage` on shards;
:mod:`.storage` holds the HDF5 layout and ``read_labels``; :mod:`.quality` the val report.
"""

from .pipeline import WindowLabels, label_window

__all__ = ["WindowLabels", "label_window"]
