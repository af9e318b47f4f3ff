"""The intent model on the project's labelled data (no database): accuracy on the held-out
set, which is never trained on, is a regression test (it fails below 0.90)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from omniretail.kernel.errors import InvalidRequest
from omniretail.support import assistant_model as m
from omniretail.support.assistant import DEFAULT_THRESHOLD


@pytest.fixture(scope="module")
def data() -> m.IntentData:
    return m.load_data()


@pytest.fixture(scope="module")
def model(data: m.IntentData) -> m.IntentModel:
    return m.fit(data)


def test_the_heldout_set_is_separate_and_covers_every_intent(data: m.IntentData) -> None:
    train = {t.lower() for _, t in data.train}
    assert [t for _, t in data.heldout if t.lower() in train] == []
    assert {i for i, _ in data.heldout} == set(m.BUILT_IN) == {i for i, _ in data.train}
    assert len(data.train) >= 400 and len(data.heldout) >= 120


def test_heldout_accuracy_and_threshold_coverage(model: m.IntentModel, data: m.IntentData) -> None:
    result = m.evaluate(model, data.heldout, DEFAULT_THRESHOLD)
    assert result.accuracy >= 0.90, result.as_dict()
    assert result.coverage >= 0.85, result.as_dict()
    assert result.accuracy_above >= result.accuracy


def test_the_model_is_cached_on_disk_and_reused(data: m.IntentData, tmp_path: Path) -> None:
    first = m.trained(data, tmp_path)
    [cached] = tmp_path.glob("support-intents-*.pickle")
    m._models.clear()
    second = m.trained(data, tmp_path)
    assert second is not first and second.digest == first.digest
    assert second.predict("where is my parcel").intent == "where_is_my_order"
    assert cached.exists()


def test_a_bad_operator_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text(json.dumps({"intents": {"new_one": {"examples": ["a", "b"], "answer": "x"}}}))
    with pytest.raises(InvalidRequest, match="5 examples"):
        m.load_data(path)
    path.write_text("{not json")
    with pytest.raises(InvalidRequest, match="not valid JSON"):
        m.load_data(path)


def test_the_cli_trains_into_the_cache_and_evaluates(tmp_path: Path, monkeypatch) -> None:
    from typer.testing import CliRunner

    from omniretail.commands.main import app

    monkeypatch.setenv("OMNIRETAIL_CACHE_DIR", str(tmp_path))
    trained = CliRunner().invoke(app, ["support", "assistant", "train"])
    assert trained.exit_code == 0, trained.output
    assert "14 intents" in trained.output
    assert len(list(tmp_path.glob("support-intents-*.pickle"))) == 1
    result = CliRunner().invoke(app, ["support", "assistant", "eval"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output.strip().splitlines()[-1])
    assert figures["heldout_examples"] == 142 and figures["intent_accuracy"] >= 0.90
    assert figures["threshold"] == 0.4 and 0 < figures["coverage"] <= 1
