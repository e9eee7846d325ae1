"""Datasets: one manifest format for every dataset, adapters that produce it, image readers."""
