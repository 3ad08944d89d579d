"""The CLI's HTTP client: the service's routes, and every failure turned into a sentence that says what
to do next (``CliError``), so the commands never show a traceback."""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

DEFAULT_URL = "http://127.0.0.1:8000"
UPLOAD_KINDS = ("image/", "audio/", "video/")
# Exit codes: 1 the service could not do it, 2 the command line is wrong, 3 no service answers.
EXIT_FAILED, EXIT_USAGE, EXIT_UNREACHABLE = 1, 2, 3


class CliError(Exception):
    def __init__(self, message: str, exit_code: int = EXIT_FAILED):
        super().__init__(message)
        self.exit_code = exit_code


def _explain(response: httpx.Response) -> CliError:
    try:
        err = response.json()["error"]
        message, code = err["message"], err.get("code")
    except (ValueError, KeyError, TypeError):
        message, code = response.text[:200] or response.reason_phrase, None
    if code == "llm_not_configured":
        return CliError(
            "The service has no LLM configured. Where it runs, set OPENAI_API_KEY, or "
            "HUGGINGGPT_LLM_BASE_URL (and HUGGINGGPT_LLM_MODEL) for any OpenAI-compatible endpoint, "
            "then restart it with `make run`."
        )
    if code == "invalid_api_key":
        return CliError(
            "The service wants an API key (or refused this one). Pass --api-key KEY or set HUGGINGGPT_API_KEY "
            "to a key its operator gave you."
        )
    if code == "remote_access_disabled":
        return CliError(f"{message.rstrip('.')}.")
    if response.status_code == 429:
        wait = response.headers.get("retry-after", "a few")
        return CliError(f"{message.split(';')[0]}: the service asks you to wait {wait} s, then try again.")
    if code == "llm_unavailable":
        return CliError(f"{message.rstrip('.')}. Check that the LLM endpoint is up, then try again.")
    if response.status_code == 404 and code is None:
        return CliError(
            f"{response.request.url} is not a HuggingGPT route ({response.status_code}); "
            "check that --url points at a HuggingGPT service."
        )
    return CliError(f"The service refused the request ({response.status_code}): {message}")


class Client:
    def __init__(self, url: str, api_key: str | None = None, timeout_s: float = 30.0):
        self.url = url.rstrip("/")
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        # A run streams for as long as its experts take; only connecting and silence are bounded.
        self.http = httpx.Client(
            base_url=self.url, headers=headers, timeout=httpx.Timeout(timeout_s, read=600.0)
        )

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()

    def _send(self, method: str, path: str, **kw: Any) -> httpx.Response:
        try:
            response = self.http.request(method, path, **kw)
        except httpx.HTTPError as e:
            raise self._unreachable(e) from e
        if response.is_error:
            raise _explain(response)
        return response

    def _unreachable(self, e: httpx.HTTPError) -> CliError:
        if isinstance(e, httpx.ConnectError):
            return CliError(
                f"No HuggingGPT service answers at {self.url}. Start it with `make run` (or "
                "`hugginggpt serve`), or point --url / HUGGINGGPT_URL at a running one.",
                EXIT_UNREACHABLE,
            )
        if isinstance(e, httpx.TimeoutException):
            return CliError(f"The service at {self.url} stopped answering ({type(e).__name__}); try again.")
        return CliError(f"Talking to {self.url} failed: {e}. Check --url and try again.", EXIT_UNREACHABLE)

    def models(self) -> list[dict[str, Any]]:
        return self._send("GET", "/v1/models").json()["data"]

    def plan(self, content: str) -> list[dict[str, Any]]:
        return self._send("POST", "/tasks", json={"messages": [{"role": "user", "content": content}]}).json()

    def upload(self, path: Path) -> tuple[str, str]:
        """Store a local file as an artifact; returns (kind, url)."""
        if not path.is_file():
            raise CliError(f"File not found: {path}. Check the path and try again.", EXIT_USAGE)
        media_type = mimetypes.guess_type(path.name)[0] or ""
        if not media_type.startswith(UPLOAD_KINDS):
            raise CliError(
                f"{path} is not an image, audio or video file (judged by its extension); "
                "attach .png, .jpg, .wav, .mp3, .mp4 and the like.",
                EXIT_USAGE,
            )
        body = self._send(
            "POST", "/v1/artifacts", content=path.read_bytes(), headers={"Content-Type": media_type}
        )
        return media_type.split("/")[0], body.json()["url"]

    def download(self, url: str) -> bytes:
        return self._send("GET", url).content

    def chat(self, content: str) -> Iterator[dict[str, Any]]:
        """Streams a request: yields ``{"delta": text}`` and ``{"event": stage event}`` in order."""
        body = {"model": "hugginggpt", "messages": [{"role": "user", "content": content}], "stream": True}
        try:
            with self.http.stream("POST", "/v1/chat/completions", json=body) as response:
                if response.is_error:
                    response.read()
                    raise _explain(response)
                for line in response.iter_lines():
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        return
                    chunk = json.loads(data)
                    if "hugginggpt" in chunk:
                        yield {"event": chunk["hugginggpt"]}
                    choices = chunk.get("choices") or [{}]
                    if delta := choices[0].get("delta", {}).get("content"):
                        yield {"delta": delta}
        except httpx.HTTPError as e:
            raise self._unreachable(e) from e


def with_attachments(text: str, attachments: list[tuple[str, str]]) -> str:
    """The user's words plus one ``[attached <kind>: <url>]`` line per file, as the page sends them."""
    return "\n".join([text, *(f"[attached {kind}: {url}]" for kind, url in attachments)])
