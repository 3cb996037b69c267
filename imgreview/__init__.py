"""imgreview: find exact and near-duplicate images, review them in the terminal, clean up safely."""

__version__ = "0.1.0"
