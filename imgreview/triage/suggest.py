"""Learn from the marks: rank undecided pictures by how likely they are unwanted.

A person marks some pictures unwanted and some wanted; :class:`Suggester` is trained on those
marks and gives every other picture a probability of being unwanted. Two models, both on any
feature matrix (the cheap scan features, or embeddings from :mod:`imgreview.triage.embed`):

``knn`` (while one class has fewer than LOGISTIC_MIN marks)
    A distance-weighted vote of the ``k`` nearest marked pictures (cosine distance on standardised
    features), smoothed towards the share of unwanted marks so one mark is not a certainty.
``logistic``
    L2-regularised logistic regression, fitted by Newton's method (a few dozen features, closed
    form steps; no dependency beyond numpy). Chosen by ``auto`` once each class has at least
    :data:`LOGISTIC_MIN` marks.

Suggestions are only a ranking: nothing is decided from them without a key press or an explicit
``--accept-suggestions`` confirmed by the user.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from imgreview.errors import ImgreviewError

MODELS = ("auto", "knn", "logistic")
LOGISTIC_MIN = 2
K = 7


class SuggestError(ImgreviewError, ValueError):
    """Not enough marks to learn from; the message says what is needed."""


@dataclass(slots=True)
class Suggester:
    model: str = "auto"
    k: int = K
    l2: float = 10.0
    used: str = ""  # the model actually fitted
    _mu: np.ndarray | None = None
    _sd: np.ndarray | None = None
    _x: np.ndarray | None = None
    _y: np.ndarray | None = None
    _w: np.ndarray | None = None

    def fit(self, features: np.ndarray, unwanted: Sequence[bool] | np.ndarray,
            pool: np.ndarray | None = None) -> Suggester:
        """Train on marked rows: ``unwanted[i]`` True for a picture marked unwanted, False for wanted.

        ``pool`` (all pictures, marked or not) sets the feature scaling; without it the marks do."""
        if self.model not in MODELS:
            raise SuggestError(f"unknown model {self.model!r} (choose from {', '.join(MODELS)})")
        x = np.asarray(features, dtype=np.float64)
        y = np.asarray(unwanted, dtype=bool)
        if x.ndim != 2 or len(x) != len(y):
            raise SuggestError("one row of features per mark")
        if not y.any():
            raise SuggestError("mark at least one picture unwanted first")
        ref = x if pool is None or len(pool) < 2 else np.asarray(pool, dtype=np.float64)
        self._mu = ref.mean(axis=0)
        self._sd = np.maximum(ref.std(axis=0), 1e-6)
        z = (x - self._mu) / self._sd
        n_pos, n_neg = int(y.sum()), int((~y).sum())
        use = self.model
        if use == "auto":
            use = "logistic" if min(n_pos, n_neg) >= LOGISTIC_MIN else "knn"
        if use == "logistic" and n_neg == 0:
            use = "knn"
        self.used = use
        if use == "knn":
            self._x = _unit(z)
            self._y = y
        else:
            self._w = _newton_logistic(np.column_stack([z, np.ones(len(z))]), y.astype(np.float64), self.l2)
        return self

    def predict(self, features: np.ndarray) -> np.ndarray:
        """Probability that each row is unwanted (0..1)."""
        if self._mu is None or self._sd is None:
            raise SuggestError("fit the suggester first")
        z = (np.asarray(features, dtype=np.float64) - self._mu) / self._sd
        if self.used == "logistic":
            assert self._w is not None
            return _sigmoid(np.column_stack([z, np.ones(len(z))]) @ self._w)
        assert self._x is not None and self._y is not None
        prior = float(self._y.mean())
        q = _unit(z)
        k = min(self.k, len(self._x))
        out = np.empty(len(q))
        for start in range(0, len(q), 2048):
            sim = q[start:start + 2048] @ self._x.T  # cosine similarity
            idx = np.argpartition(-sim, k - 1, axis=1)[:, :k]
            s = np.take_along_axis(sim, idx, axis=1)
            w = np.exp(4.0 * s)  # closer marks weigh more
            votes = (w * self._y[idx]).sum(axis=1)
            out[start:start + 2048] = (votes + prior) / (w.sum(axis=1) + 1.0)
        return out


def rank(probabilities: np.ndarray) -> np.ndarray:
    """Row indices, most likely unwanted first (stable for ties)."""
    return np.argsort(-np.asarray(probabilities), kind="stable")


def _unit(z: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(z, axis=1, keepdims=True)
    out: np.ndarray = z / np.maximum(norm, 1e-9)
    return out


def _sigmoid(t: np.ndarray) -> np.ndarray:
    out: np.ndarray = 1.0 / (1.0 + np.exp(-np.clip(t, -40, 40)))
    return out


def _newton_logistic(x: np.ndarray, y: np.ndarray, l2: float, steps: int = 50) -> np.ndarray:
    w = np.zeros(x.shape[1])
    reg = np.full(x.shape[1], l2)
    reg[-1] = 1e-6  # the intercept is not shrunk
    for _ in range(steps):
        p = _sigmoid(x @ w)
        grad = x.T @ (p - y) + reg * w
        hess = (x * (p * (1 - p))[:, None]).T @ x + np.diag(reg)
        step = np.linalg.solve(hess, grad)
        w -= step
        if float(np.abs(step).max()) < 1e-8:
            break
    return w
