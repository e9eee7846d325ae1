"""tagseg: weakly-supervised video semantic segmentation from tags (Saleh et al. 2017; Hong et al. 2017)."""

__version__ = "0.1.0"
