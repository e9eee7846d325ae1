"""Training of the two-stream network: data (HDF5 shards -> tensors), checkpoints, the loop."""
