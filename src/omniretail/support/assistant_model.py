"""The assistant's intent model: TF-IDF over word and character n-grams into a logistic
regression (scikit-learn), trained offline on the labelled set shipped in ``intents/`` plus the
operator's layer (a JSON file named by ``OMNIRETAIL_SUPPORT_ASSISTANT_FILE``).

The held-out set (``intents/heldout.csv``) is never trained on: it measures the model
(``evaluate``; ``omniretail support assistant eval``, ``benchmarks/support.py``). A trained
model is kept in the process (one per distinct training data) and on disk under the cache
directory, keyed by a digest of the data and the scikit-learn version, so a restart with
unchanged data loads it instead of training again."""

from __future__ import annotations

import csv
import hashlib
import json
import pickle
import threading
from dataclasses import dataclass, field
from importlib import metadata, resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omniretail.kernel.errors import InvalidRequest

# scikit-learn is imported where a model is fitted or asked, not when the package is: it
# would add to the start of every command and server process, most of which never use it.
if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

DATA_PACKAGE = "omniretail.support.intents"
# The intents whose answers are built from live data (assistant.py); an operator's intent has
# a fixed answer text (or hands over).
BUILT_IN = (
    "where_is_my_order",
    "stock_at_store",
    "opening_hours",
    "return_policy",
    "start_return",
    "points_balance",
    "pickup_code",
    "change_pickup_store",
    "cancel_order",
    "stop_marketing",
    "human_agent",
    "greeting",
    "thanks",
    "other",
)
MAX_OPERATOR_BYTES = 2 * 1024 * 1024


@dataclass(frozen=True)
class IntentData:
    """Everything the model and the answers are made of: labelled examples, held-out
    examples and answer templates per intent (shipped data with the operator's layer on top)."""

    train: list[tuple[str, str]]
    heldout: list[tuple[str, str]]
    answers: dict[str, dict[str, Any]]

    def digest(self) -> str:
        payload = json.dumps([self.train, metadata.version("scikit-learn")], ensure_ascii=False)
        return hashlib.sha256(payload.encode()).hexdigest()[:24]


@dataclass
class Prediction:
    intent: str
    confidence: float
    ranked: list[tuple[str, float]] = field(default_factory=list)


class IntentModel:
    """A fitted pipeline; ``predict`` is one vectorisation and one matrix product."""

    def __init__(self, pipeline: Pipeline, digest: str) -> None:
        self.pipeline = pipeline
        self.digest = digest
        self.labels: list[str] = [str(c) for c in pipeline.classes_]

    def predict(self, text: str) -> Prediction:
        """One text: the union's vectorisers and the classifier called directly (the
        pipeline's joblib dispatch and input validation cost more than the arithmetic)."""
        import scipy.sparse
        import sklearn

        with sklearn.config_context(assume_finite=True, skip_parameter_validation=True):
            union = self.pipeline.named_steps["features"]
            features = scipy.sparse.hstack(
                [v.transform([text]) for _, v in union.transformer_list], format="csr"
            )
            probabilities = self.pipeline.named_steps["classifier"].predict_proba(features)[0]
        ranked = sorted(
            ((self.labels[i], float(p)) for i, p in enumerate(probabilities)),
            key=lambda pair: -pair[1],
        )
        return Prediction(ranked[0][0], ranked[0][1], ranked[:3])

    def predict_many(self, texts: list[str]) -> list[tuple[str, float]]:
        out = []
        for row in self.pipeline.predict_proba(texts):
            best = int(row.argmax())
            out.append((self.labels[best], float(row[best])))
        return out


def _read_csv(name: str) -> list[tuple[str, str]]:
    text = resources.files(DATA_PACKAGE).joinpath(name).read_text(encoding="utf-8")
    return [(r["intent"], r["text"]) for r in csv.DictReader(text.splitlines())]


def _shipped_answers() -> dict[str, dict[str, Any]]:
    text = resources.files(DATA_PACKAGE).joinpath("answers.json").read_text(encoding="utf-8")
    loaded: dict[str, dict[str, Any]] = json.loads(text)["intents"]
    return loaded


def read_operator_file(path: Path) -> dict[str, dict[str, Any]]:
    """The operator's layer: ``{"intents": {"<name>": {"examples": [...], "answer": "...",
    "handover": false}}}``. A built-in intent may gain examples and have its templates
    overridden; a new intent needs examples (at least 5) and an answer or ``handover``."""
    if path.stat().st_size > MAX_OPERATOR_BYTES:
        raise InvalidRequest(f"{path} is larger than {MAX_OPERATOR_BYTES} bytes", field="file")
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise InvalidRequest(f"{path} is not valid JSON: {exc}", field="file") from None
    intents = loaded.get("intents") if isinstance(loaded, dict) else None
    if not isinstance(intents, dict):
        raise InvalidRequest(f'{path} needs an object "intents"', field="file")
    for name, spec in intents.items():
        examples = spec.get("examples", []) if isinstance(spec, dict) else None
        if not isinstance(examples, list) or not all(isinstance(e, str) for e in examples):
            raise InvalidRequest(f"intent {name!r}: examples must be a list of texts", field=name)
        if name not in BUILT_IN:
            if len(examples) < 5:
                raise InvalidRequest(f"new intent {name!r} needs 5 examples or more", field=name)
            if not (isinstance(spec.get("answer"), str) or spec.get("handover") is True):
                raise InvalidRequest(f"new intent {name!r} needs an answer text", field=name)
    return intents


_loaded: dict[tuple[str, int, int], IntentData] = {}


def load_data(operator_file: Path | None = None) -> IntentData:
    """The shipped data with the operator's file on top; read again only when the operator's
    file changes (its modification time or size)."""
    stat = operator_file.stat() if operator_file is not None else None
    key = (str(operator_file), stat.st_mtime_ns if stat else 0, stat.st_size if stat else 0)
    cached = _loaded.get(key)
    if cached is None:
        cached = _read_data(operator_file)
        _loaded.clear()
        _loaded[key] = cached
    return cached


def _read_data(operator_file: Path | None) -> IntentData:
    train = _read_csv("train.csv")
    heldout = _read_csv("heldout.csv")
    answers = {k: dict(v) for k, v in _shipped_answers().items()}
    if operator_file is not None:
        for name, spec in read_operator_file(operator_file).items():
            train.extend((name, e) for e in spec.get("examples", []))
            heldout.extend((name, e) for e in spec.get("heldout", []))
            answers[name] = {
                **answers.get(name, {}),
                **{k: v for k, v in spec.items() if k not in ("examples", "heldout")},
            }
    return IntentData(train=train, heldout=heldout, answers=answers)


def fit(data: IntentData) -> IntentModel:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, Pipeline

    features = FeatureUnion(
        [
            (
                "words",
                TfidfVectorizer(
                    analyzer="word",
                    ngram_range=(1, 2),
                    sublinear_tf=True,
                    token_pattern=r"(?u)\b\w+\b",
                ),
            ),
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)),
        ]
    )
    pipeline = Pipeline(
        [
            ("features", features),
            ("classifier", LogisticRegression(C=20.0, max_iter=2000)),
        ]
    )
    texts = [t for _, t in data.train]
    labels = [i for i, _ in data.train]
    pipeline.fit(texts, labels)
    return IntentModel(pipeline, data.digest())


_lock = threading.Lock()
_models: dict[str, IntentModel] = {}


def trained(data: IntentData, cache_dir: Path | None = None) -> IntentModel:
    """The model for ``data``: from this process, from the disk cache, or trained now."""
    digest = data.digest()
    path = cache_dir / f"support-intents-{digest}.pickle" if cache_dir else None
    with _lock:
        model = _models.get(digest)
        if model is None and path is not None and path.exists():
            model = _load(path, digest)
        if model is None:
            model = fit(data)
        if path is not None and not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_suffix(".tmp")
            temporary.write_bytes(pickle.dumps(model))
            temporary.replace(path)
        _models.clear()  # one data set in use at a time
        _models[digest] = model
        return model


def _load(path: Path, digest: str) -> IntentModel | None:
    """Our own cache file, written by ``trained`` in the cache directory."""
    try:
        loaded = pickle.loads(path.read_bytes())
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, ValueError):
        return None
    return loaded if isinstance(loaded, IntentModel) and loaded.digest == digest else None


@dataclass(frozen=True)
class Evaluation:
    examples: int
    accuracy: float
    threshold: float
    coverage: float
    accuracy_above: float
    per_intent: dict[str, float]

    def as_dict(self) -> dict[str, Any]:
        return {
            "heldout_examples": self.examples,
            "intent_accuracy": round(self.accuracy, 4),
            "threshold": self.threshold,
            "coverage": round(self.coverage, 4),
            "accuracy_above_threshold": round(self.accuracy_above, 4),
            "per_intent_accuracy": {k: round(v, 3) for k, v in sorted(self.per_intent.items())},
        }


def evaluate(model: IntentModel, heldout: list[tuple[str, str]], threshold: float) -> Evaluation:
    """Accuracy on the held-out set; the share of it at or above the threshold (answered,
    not handed over) and the accuracy on that share."""
    predicted = model.predict_many([t for _, t in heldout])
    hits = [p == truth for (truth, _), (p, _) in zip(heldout, predicted, strict=True)]
    above = [h for h, (_, c) in zip(hits, predicted, strict=True) if c >= threshold]
    per: dict[str, list[bool]] = {}
    for (truth, _), hit in zip(heldout, hits, strict=True):
        per.setdefault(truth, []).append(hit)
    return Evaluation(
        examples=len(heldout),
        accuracy=sum(hits) / len(hits) if hits else 0.0,
        threshold=threshold,
        coverage=len(above) / len(hits) if hits else 0.0,
        accuracy_above=sum(above) / len(above) if above else 0.0,
        per_intent={k: sum(v) / len(v) for k, v in per.items()},
    )
