"""The `hugginggpt` command line: `serve` runs the service; `ask`, `plan` and `models` talk to one."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Annotated

import typer
import yaml
from rich.console import Console
from rich.live import Live

from cli.client import DEFAULT_URL, Client, CliError, with_attachments
from cli.ready import announce_when_ready
from cli.view import RunProgress, models_table, plan_tree
from controller.config import LLMConfig, decide_llm
from deployments.http.security import KEYS_ENV, load_key_digests
from deployments.ray_env import export_ray_env

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
    export_ray_env(yaml.safe_load(config.read_text()) or {})  # `serve run` starts Ray and its proxy with it
    if decide_llm(_configured_llm(config)) is None:
        typer.secho(
            "No external LLM configured: deploying the embedded SmolLM2-135M (small and slow on CPU). "
            "Set OPENAI_API_KEY, or HUGGINGGPT_LLM_BASE_URL (+ HUGGINGGPT_LLM_MODEL) for any "
            "OpenAI-compatible endpoint, for better plans.",
            fg="yellow",
            err=True,
        )
    _say_who_gets_in(config)
    serve_bin = shutil.which("serve", path=os.path.dirname(sys.executable)) or shutil.which("serve")
    if serve_bin is None:
        typer.secho("Ray Serve's `serve` command is not installed; run `make install`.", fg="red", err=True)
        raise typer.Exit(2)
    announce_when_ready(_local_url(config), lambda line: typer.secho(line, fg="green", bold=True, err=True))
    os.execv(serve_bin, [serve_bin, "run", str(config)])


def _local_url(config: Path) -> str:
    """Where this machine reaches the service the config starts."""
    http = (yaml.safe_load(config.read_text()) or {}).get("http_options") or {}
    host = http.get("host", "127.0.0.1")
    return f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{http.get('port', 8000)}"


def _configured_llm(config: Path) -> LLMConfig | None:
    """The `llm` that the Serve config's first application sets in its args, if any."""
    llm = _first_app_args(config).get("llm")
    return None if llm is None else LLMConfig.model_validate(llm)


def _first_app_args(config: Path) -> dict:
    apps = (yaml.safe_load(config.read_text()) or {}).get("applications") or [{}]
    return apps[0].get("args") or {}


def _say_who_gets_in(config: Path) -> None:
    """Loudly, at start: whether the API wants keys, and who is served without one."""
    try:
        keys = load_key_digests()
    except ValueError as e:
        typer.secho(str(e), fg="red", err=True)
        raise typer.Exit(2) from None
    host = ((yaml.safe_load(config.read_text()) or {}).get("http_options") or {}).get("host", "127.0.0.1")
    if keys:
        typer.secho(
            f"API keys: {len(keys)} configured; every request needs `Authorization: Bearer <key>`.", err=True
        )
        return
    opted_in = (_first_app_args(config).get("security") or {}).get("allow_unauthenticated", False)
    who = "EVERY client (security.allow_unauthenticated)" if opted_in else "clients on this machine only"
    typer.secho(
        f"NO API KEYS: the service listens on {host}:8000 and serves {who} without a key. To serve others "
        f"safely, set {KEYS_ENV}=<key>[,<key>...] and http_options.host: 0.0.0.0.",
        fg="yellow",
        bold=True,
        err=True,
    )


Url = Annotated[str, typer.Option("--url", envvar="HUGGINGGPT_URL", help="the HuggingGPT service to talk to")]
ApiKey = Annotated[
    str | None,
    typer.Option(
        "--api-key", envvar="HUGGINGGPT_API_KEY", help="the key the service gave you (sent as a Bearer token)"
    ),
]
Files = Annotated[
    list[Path] | None,
    typer.Option("--file", "-f", help="an image, audio or video file to attach (repeatable)"),
]
AsJson = Annotated[bool, typer.Option("--json", help="print JSON instead of a table or tree")]
Request = Annotated[str, typer.Argument(help="what you want done, in your words")]
MEDIA_FIELDS = ("image", "audio", "video")


def _out() -> Console:
    return Console(highlight=False)


def _fail(e: CliError) -> typer.Exit:
    Console(stderr=True, highlight=False).print(f"[bold red]Error:[/] {e}", soft_wrap=True)
    return typer.Exit(e.exit_code)


def _attach(client: Client, text: str, files: list[Path] | None) -> str:
    return with_attachments(text, [client.upload(path) for path in files or []])


@app.command()
def ask(
    request: Request,
    file: Files = None,
    out: Annotated[Path, typer.Option(help="the folder for the artifacts the experts make")] = Path(
        "hugginggpt-artifacts"
    ),
    url: Url = DEFAULT_URL,
    api_key: ApiKey = None,
) -> None:
    """Run a request: live progress per task, then the answer; artifacts are saved to --out."""
    console = _out()
    try:
        with Client(url, api_key) as client:
            content = _attach(client, request, file)
            progress = _stream(client, content, console)
            saved = _save_artifacts(client, progress.done, out)
    except CliError as e:
        raise _fail(e) from None
    for path in saved:
        console.print(f"[green]saved[/] {path}")
    if progress.errors:
        raise _fail(CliError("The run reported errors: " + "; ".join(progress.errors)))
    if unfinished := _unfinished(progress.done):
        # The answer and what was made are out already; the status tells a script the work is incomplete.
        raise _fail(CliError(f"{len(unfinished)} task(s) did not finish: " + "; ".join(unfinished)))


def _unfinished(done: dict | None) -> list[str]:
    results = (done or {}).get("results", [])
    return [f"#{r['task_id']} {r['task']} {r['status']}" for r in results if r["status"] != "ok"]


def _stream(client: Client, content: str, console: Console) -> RunProgress:
    """Shows the plan and the tasks live until the answer starts, then streams the answer's text."""
    progress = RunProgress()
    answering = False
    with Live(progress, console=console, refresh_per_second=8, transient=False) as live:
        try:
            for item in client.chat(content):
                if "event" in item:
                    progress.handle(item["event"])
                    continue
                if not answering:  # freeze the task lines, then let the text flow below them
                    progress.settle("Answer:")
                    live.stop()
                    if not console.is_terminal:
                        console.line()  # a terminal's live display ends its last line itself
                    answering = True
                console.print(item["delta"], end="", soft_wrap=True, markup=False)
        except CliError:
            live.transient = True  # the error message alone, not a spinner frozen mid-plan
            raise
    if answering:
        console.line()
    elif progress.done and progress.done.get("answer"):
        console.print(progress.done["answer"], soft_wrap=True, markup=False)
    return progress


def _save_artifacts(client: Client, done: dict | None, out: Path) -> list[Path]:
    saved = []
    for result in (done or {}).get("results", []):
        for field in MEDIA_FIELDS:
            url = result.get("outputs", {}).get(field)
            if result["status"] != "ok" or not isinstance(url, str):
                continue
            artifact_id = url.rsplit("/", 1)[-1]
            path = out / f"{result['task_id']}-{result['task']}-{artifact_id[:12]}{Path(artifact_id).suffix}"
            out.mkdir(parents=True, exist_ok=True)
            path.write_bytes(client.download(url))
            saved.append(path)
    return saved


@app.command()
def plan(
    request: Request,
    file: Files = None,
    as_json: AsJson = False,
    url: Url = DEFAULT_URL,
    api_key: ApiKey = None,
) -> None:
    """Plan only: the tasks the LLM would run, as a tree (or --json); nothing is executed."""
    console = _out()
    try:
        with Client(url, api_key) as client:
            content = _attach(client, request, file)
            with console.status("Planning…"):
                tasks = client.plan(content)
    except CliError as e:
        raise _fail(e) from None
    if as_json:
        console.print_json(json.dumps(tasks))
    elif not tasks:
        console.print("No tasks: the LLM would answer this directly.")
    else:
        console.print(plan_tree(tasks))


@app.command()
def models(as_json: AsJson = False, url: Url = DEFAULT_URL, api_key: ApiKey = None) -> None:
    """The LLM and the expert models the service runs, with their state."""
    console = _out()
    try:
        with Client(url, api_key) as client:
            data = client.models()
    except CliError as e:
        raise _fail(e) from None
    if as_json:
        console.print_json(json.dumps(data))
        return
    orchestrator, experts = data[0], data[1:]
    console.print(f"[bold]LLM[/]: {orchestrator.get('llm', 'unknown')}")
    console.print(models_table(experts))


def main() -> None:
    app()
