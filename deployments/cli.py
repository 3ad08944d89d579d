"""The `hugginggpt` command line."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    help="HuggingGPT on Ray Serve: an LLM plans, Hugging Face experts execute.", no_args_is_help=True
)


@app.callback()
def _root() -> None:
    """HuggingGPT on Ray Serve."""


@app.command()
def serve(
    config: Annotated[Path, typer.Option(help="the Serve config to run")] = Path("serve_config.yaml"),
) -> None:
    """Start the service locally (Ray + Serve) from serve_config.yaml, in the foreground."""
    if not config.is_file():
        typer.secho(
            f"{config} not found: run this from the project folder or pass --config PATH.", fg="red", err=True
        )
        raise typer.Exit(2)
    # A local single-user cluster: Ray 2.60's token auth and usage telemetry are off unless set.
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if not (os.environ.get("OPENAI_API_KEY") or os.environ.get("HUGGINGGPT_LLM_BASE_URL")):
        typer.secho(
            "No external LLM configured: deploying the embedded SmolLM2-135M (small and slow on CPU). "
            "Set OPENAI_API_KEY, or HUGGINGGPT_LLM_BASE_URL (+ HUGGINGGPT_LLM_MODEL) for any "
            "OpenAI-compatible endpoint, for better plans.",
            fg="yellow",
            err=True,
        )
    serve_bin = shutil.which("serve", path=os.path.dirname(sys.executable)) or shutil.which("serve")
    if serve_bin is None:
        typer.secho("Ray Serve's `serve` command is not installed; run `make install`.", fg="red", err=True)
        raise typer.Exit(2)
    os.execv(serve_bin, [serve_bin, "run", str(config)])


def main() -> None:
    app()
