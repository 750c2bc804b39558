"""A small linear model that reads an error the way the rules cannot: by its wording as a whole.

Hashed word and character n-gram features of the error text feed a multinomial logistic regression
trained offline (``bench/train_classifier.py``) on real failure logs labelled from their threads. The
weights ship as package data (``rules/learned_model.json``: int8 weights, a scale, biases and the
thresholds the trainer chose on the fresh batches as they stood at their first runs); inference is pure Python,
deterministic, a few milliseconds.

Besides the categories the model has a class of its own, ``unknown``, fitted on text that names no cause
(ordinary log chatter, error lines that give no reason): where that is its most probable reading it abstains, so
chatter beside a failure does not pass for evidence of one (without it, Spark's "in memory ... free: 2 GiB" lines
read as oom).

The model never overrules a confident rule: ``classify`` asks it only when the rules answered
``unknown`` or below ``rules_sure``. There the rules' answer is evidence the model weighs (``with_rule``: the
rule's confidence, times ``rule_weight``, added to that category's log-probability), and the model answers only
when the result names another category at or above ``abstain_below``. A log in which no error block was found is
read by it last (``classify_without_blocks``), under a stricter threshold of its own.
"""

from __future__ import annotations

import base64
import json
import math
import re
import zlib
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from pipeline_sre.diagnosis.extract import ErrorBlock, without_prefixes

MODEL_FILE = "rules/learned_model.json"
NO_CAUSE = "unknown"  # the model's class for text that names no cause
DIM_BITS = 14
DIM = 1 << DIM_BITS
_TEXT_CAP = 4000  # a long block's tail frames say little about the category; keep the cost flat
_CONTEXT_LINES = 20
_CHAR_N = (3, 4, 5)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_TOKEN = re.compile(r"[a-z]+|\d+")


@dataclass(frozen=True, slots=True)
class Prediction:
    category: str
    probability: float


@dataclass(frozen=True, slots=True)
class Model:
    classes: tuple[str, ...]
    weights: array[int]  # DIM rows of len(classes) int8 weights, row-major
    scale: float
    bias: tuple[float, ...]
    abstain_below: float  # the model answers only at or above this probability
    rules_sure: float  # a rule answer at or above this confidence is never questioned
    rule_weight: float  # how much a weaker rule answer counts for its category (see ``with_rule``)
    # with no error block in the log, the model reads its last words and notes and answers only at or above this
    # (chosen with logs that carry no cause among the examples: above 1 it never answers there)
    abstain_no_block: float = 1.01

    def predict(self, text: str, rule: tuple[str, float] | None = None) -> Prediction | None:
        """The most probable category given the rules' weaker answer ``rule`` (category, confidence), if any, or
        ``None`` when the model is not sure enough."""
        probs = self.probabilities(text)
        if rule is not None:
            probs = self.with_rule(probs, *rule)
        k = max(range(len(probs)), key=probs.__getitem__)
        if probs[k] < self.abstain_below or self.classes[k] == NO_CAUSE:
            return None
        return Prediction(self.classes[k], probs[k])

    def with_rule(self, probs: Sequence[float], category: str, confidence: float) -> list[float]:
        """``probs`` once a rule's answer is counted as evidence for its category (in log-odds, so a rule the
        model finds very unlikely does not win on its confidence alone)."""
        if category not in self.classes:
            return list(probs)
        return add_evidence(probs, self.classes.index(category), self.rule_weight * confidence)

    def probabilities(self, text: str) -> list[float]:
        n = len(self.classes)
        scores = list(self.bias)
        w = self.weights
        for f, v in features(text).items():
            base = f * n
            sv = v * self.scale
            for k in range(n):
                scores[k] += w[base + k] * sv
        return softmax(scores)


def add_evidence(probs: Sequence[float], k: int, amount: float) -> list[float]:
    """``probs`` with ``amount`` added to class ``k``'s log-probability, renormalised."""
    scores = [math.log(max(p, 1e-9)) for p in probs]
    scores[k] += amount
    return softmax(scores)


def softmax(scores: Sequence[float]) -> list[float]:
    top = max(scores)
    exps = [math.exp(s - top) for s in scores]
    total = sum(exps)
    return [e / total for e in exps]


def tokens(text: str) -> list[str]:
    """Lower-case words, camelCase split (``OutOfMemoryError`` -> out of memory error), digit runs kept as 0."""
    spaced = _CAMEL.sub(" ", text).lower()
    return ["0" if t.isdigit() else t for t in _TOKEN.findall(spaced)]


def _bucket(key: str) -> int:
    return zlib.crc32(key.encode("utf-8")) & (DIM - 1)


def features(text: str) -> dict[int, float]:
    """Hashed, L2-normalised log-count features: words, word pairs, and 3-5 character pieces of each word."""
    counts: dict[int, float] = {}
    toks = tokens(text[-_TEXT_CAP:])
    for i, t in enumerate(toks):
        if len(t) < 2:
            continue
        for key in (f"w:{t}", f"b:{toks[i - 1]} {t}" if i else ""):
            if key:
                h = _bucket(key)
                counts[h] = counts.get(h, 0.0) + 1.0
    for t in set(toks):
        padded = f" {t} "
        for n in _CHAR_N:
            for j in range(len(padded) - n + 1):
                h = _bucket("c:" + padded[j : j + n])
                counts[h] = counts.get(h, 0.0) + 1.0
    out = {h: math.log1p(c) for h, c in counts.items()}
    norm = math.sqrt(sum(v * v for v in out.values())) or 1.0
    return {h: v / norm for h, v in out.items()}


def model_text(blocks: Sequence[ErrorBlock], context_lines: Sequence[str] = ()) -> str:
    """What the model reads: the first block's root cause, its text with the lines around it (a cause is often
    stated just above a bare status: git's `remote:` lines over a 403), the next blocks' root causes, the context."""
    parts: list[str] = []
    for i, b in enumerate(blocks[:3]):
        parts += [b.exception or "", " ".join(b.root_cause_chain), b.message, b.evidence]
        if i == 0:
            parts += [*b.before, b.text[:_TEXT_CAP], *b.after]
    parts += [str(x) for x in list(context_lines)[-_CONTEXT_LINES:]]
    return without_prefixes("\n".join(p for p in parts if p))


def encode(model: Model) -> str:
    """The package-data form of ``model`` (what ``load`` reads)."""
    return json.dumps(
        {
            "dim_bits": DIM_BITS,
            "classes": list(model.classes),
            "scale": model.scale,
            "bias": [round(b, 6) for b in model.bias],
            "abstain_below": model.abstain_below,
            "rules_sure": model.rules_sure,
            "rule_weight": model.rule_weight,
            "abstain_no_block": model.abstain_no_block,
            "weights_int8_b64": base64.b64encode(model.weights.tobytes()).decode("ascii"),
        },
        indent=0,
    )


def decode(doc: str) -> Model:
    raw = json.loads(doc)
    if int(raw["dim_bits"]) != DIM_BITS:
        raise ValueError(f"learned model has dim_bits {raw['dim_bits']}, this code hashes into {DIM_BITS}")
    classes = tuple(str(c) for c in raw["classes"])
    weights = array("b")
    weights.frombytes(base64.b64decode(raw["weights_int8_b64"]))
    if len(weights) != DIM * len(classes):
        raise ValueError("learned model: weight count does not match its classes")
    return Model(
        classes,
        weights,
        float(raw["scale"]),
        tuple(float(b) for b in raw["bias"]),
        float(raw["abstain_below"]),
        float(raw["rules_sure"]),
        float(raw["rule_weight"]),
        float(raw.get("abstain_no_block", 1.01)),
    )


@lru_cache(maxsize=1)
def load() -> Model:
    """The model shipped in the package."""
    return decode(resources.files("pipeline_sre.diagnosis").joinpath(MODEL_FILE).read_text("utf-8"))
