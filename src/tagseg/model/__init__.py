"""Networks: VGG-16 backbone, CAM classifier, two-stream segmentation network."""
