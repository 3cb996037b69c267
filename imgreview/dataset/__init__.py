"""Dataset features over a scan: the health report (``check``), the group-aware split, the demo dataset."""
