"""``omniretail support assistant train|eval``: fit the intent model (kept in the cache
directory, which the server loads at start) and measure it on the held-out set."""

from __future__ import annotations

import json
import time

import typer

from omniretail.settings import Settings
from omniretail.support.assistant import AssistantConfig
from omniretail.support.assistant_model import evaluate, fit, load_data, trained

app = typer.Typer(help="The self-service assistant's intent model.", no_args_is_help=True)


@app.command("train")
def train() -> None:
    """Train on the shipped examples and the operator's file; cache the model."""
    config = AssistantConfig.from_settings(Settings())
    data = load_data(config.operator_file)
    started = time.perf_counter()
    model = trained(data, config.cache_dir)
    typer.echo(
        f"trained on {len(data.train)} examples, {len(model.labels)} intents "
        f"in {time.perf_counter() - started:.1f}s (model {model.digest})"
    )


@app.command("eval")
def eval_() -> None:
    """Accuracy on the held-out set, the threshold's coverage and accuracy above it (JSON)."""
    config = AssistantConfig.from_settings(Settings())
    data = load_data(config.operator_file)
    result = evaluate(fit(data), data.heldout, config.threshold)
    typer.echo(json.dumps(result.as_dict()))
