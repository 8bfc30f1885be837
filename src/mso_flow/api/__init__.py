"""HTTP layer: translates requests into use-case calls and results into the v1 contract."""
