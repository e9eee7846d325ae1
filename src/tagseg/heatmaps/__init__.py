"""Classifier heatmaps (Saleh et al. §3.1, Hong et al. §3.1–3.2).

- :mod:`.iconic`: the iconic-image dataset (``iconic/{class_name}/*``) and its errors;
- :mod:`.cam`: the CAM classifier (VGG-16 conv backbone + new conv + GAP + FC, Hong eq. 1–2);
- :mod:`.imagenet`: fully convolutional ImageNet VGG-16 heatmaps (Saleh, foreground classes);
- :mod:`.train`: classifier training (rule ``classifiers``);
- :mod:`.model`: the per-class heatmap model combining both heads (checkpoint I/O);
- :mod:`.multiscale`: multi-scale maps, max-pooled over scales (Hong §3.2);
- :mod:`.storage`: per-shard HDF5 layout and :func:`~.storage.read_heatmaps`;
- :mod:`.stage`: the ``heatmaps`` rule's job; :mod:`.quality`: ``heatmaps/quality.json``.
"""
