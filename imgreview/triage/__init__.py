"""Triage: look through every picture of a label, flag bad pictures, learn from the marks.

* :mod:`.quality` — quality flags (dark, light, blurry, low_information, odd_aspect_ratio,
  odd_size, grayscale) from the scan's thumbnail;
* :mod:`.outliers` — pictures unlike the rest of their label;
* :mod:`.suggest` — a model trained on the person's unwanted/wanted marks;
* :mod:`.embed` — pluggable features (the cheap scan features, or an ONNX embedding model);
* :mod:`.metadata` — GPS position, caption, keywords;
* :mod:`.items` / :mod:`.state` — every picture of the dataset with its facts, and the triage
  state over the session journal (no Textual: the TUI is a thin layer over it).
"""
