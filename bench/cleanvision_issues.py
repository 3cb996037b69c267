"""Run cleanvision's image-property issues (default thresholds) on a truth.csv; write {path: [issues]}.

Runs in an interpreter that has cleanvision (it is not a dependency of imgreview):
    python cleanvision_issues.py truth.csv out.json
"""

import csv
import json
import sys
import time

import cleanvision
from cleanvision import Imagelab

TYPES = ["dark", "light", "blurry", "low_information", "odd_aspect_ratio", "odd_size", "grayscale"]

with open(sys.argv[1]) as fh:
    rows = list(csv.DictReader(fh))
paths = [r["path"] for r in rows]
t = time.perf_counter()
lab = Imagelab(filepaths=paths)
lab.find_issues({k: {} for k in TYPES}, n_jobs=2, verbose=False)
seconds = time.perf_counter() - t
issues = {p: [k for k in TYPES if bool(lab.issues.loc[p].get(f"is_{k}_issue", False))] for p in paths}
with open(sys.argv[2], "w") as out:
    json.dump({"seconds": seconds, "version": f"cleanvision {cleanvision.__version__}", "issues": issues}, out)
