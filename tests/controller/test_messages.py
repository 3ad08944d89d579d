"""Attachments: which URLs a user message may carry, and data URLs stored under the configured prefix."""

from __future__ import annotations

import base64

import pytest

from controller.messages import RequestError, read_conversation
from controller.schema import ChatMessage

ID = "a" * 64 + ".png"


class Store:
    def put(self, data: bytes, media_type: str) -> str:
        return ID


def ask(url: str, prefix: str = "/v1/artifacts/") -> list[str]:
    message = ChatMessage.model_validate(
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "describe"},
                {"type": "image_url", "image_url": {"url": url}},
            ],
        }
    )
    return read_conversation([message], max_chars=10_000, store=Store(), url_prefix=prefix).attachments


@pytest.mark.parametrize(
    "url", ["https://x.test/a.png", "/v1/artifacts/" + ID, "https://cdn.test/files/" + ID]
)
def test_urls_and_served_artifact_paths_pass_through(url):
    assert ask(url, prefix="https://cdn.test/files/") == [url]


def test_an_artifact_url_under_the_configured_prefix_is_accepted():
    assert ask("/files/" + ID, prefix="/files/") == ["/files/" + ID]


def test_a_data_url_is_stored_and_named_under_the_configured_prefix():
    data = "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\n").decode()
    assert ask(data, prefix="/files/") == ["/files/" + ID]
    upper = "data:image/png;BASE64," + base64.b64encode(b"png").decode()  # the one data-URL regex: any case
    assert ask(upper) == ["/v1/artifacts/" + ID]


@pytest.mark.parametrize("url", ["ftp://x.test/a.png", "/etc/passwd", "/files/" + ID])
def test_other_urls_are_refused(url):
    with pytest.raises(RequestError, match="must be an http"):
        ask(url)
