"""Full screens pushed over the review: zoom, flip, help, confirmation."""
