"""Optical flow stage: TV-L1 flow stacks (Saleh et al. §3.2) with OpenCV or PyTorch backends.

Modules: ``params`` (TV-L1 parameters), ``opencv_tvl1`` / ``torch_tvl1`` (backends),
``storage`` (compact HDF5 layout; ``read_pairs``, ``read_stack``), ``stage`` (one shard),
``quality`` (EPE against ground truth). Test pairs with exact flow: :mod:`synthcity.flow_pairs`.
"""

from .params import TVL1Params
from .storage import read_pairs, read_stack

__all__ = ["TVL1Params", "read_pairs", "read_stack"]
