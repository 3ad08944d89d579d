"""Attachments: which URLs a user message may carry, and data URLs stored under the configured prefix."""

from __future__ import annotations

import base64

import pytest

from controller.messages import RequestError, read_conversation
from controller.schema import ChatMessage
from experts.artifacts import artifact_id_for
from tests.experts.expert_samples import png_bytes

ID = "a" * 64 + ".png"


class Store:
    def __init__(self) -> None:
        self.stored: list[tuple[bytes, str]] = []

    def put(self, data: bytes, media_type: str) -> str:
        self.stored.append((data, media_type))
        return artifact_id_for(data, media_type)


def ask(url: str, prefix: str = "/v1/artifacts/", store: Store | None = None) -> list[str]:
    message = ChatMessage.model_validate(
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "describe"},
                {"type": "image_url", "image_url": {"url": url}},
            ],
        }
    )
    store = store or Store()
    return read_conversation([message], max_chars=10_000, store=store, url_prefix=prefix).attachments


@pytest.mark.parametrize(
    "url", ["https://x.test/a.png", "/v1/artifacts/" + ID, "https://cdn.test/files/" + ID]
)
def test_urls_and_served_artifact_paths_pass_through(url):
    assert ask(url, prefix="https://cdn.test/files/") == [url]


def test_an_artifact_url_under_the_configured_prefix_is_accepted():
    assert ask("/files/" + ID, prefix="/files/") == ["/files/" + ID]


def test_a_data_url_is_stored_and_named_under_the_configured_prefix():
    image = png_bytes()
    stored = Store()
    data = "data:image/png;base64," + base64.b64encode(image).decode()
    assert ask(data, prefix="/files/", store=stored) == ["/files/" + artifact_id_for(image, "image/png")]
    assert stored.stored == [(image, "image/png")]
    upper = "data:image/png;BASE64," + base64.b64encode(image).decode()  # the one data-URL regex: any case
    assert ask(upper) == ["/v1/artifacts/" + artifact_id_for(image, "image/png")]


def test_a_data_url_whose_bytes_are_not_what_it_says_is_refused_and_not_stored():
    stored = Store()
    with pytest.raises(RequestError, match="is not image"):
        ask("data:image/png;base64," + base64.b64encode(b"<html>hi</html>").decode(), store=stored)
    assert stored.stored == []


@pytest.mark.parametrize("url", ["ftp://x.test/a.png", "/etc/passwd", "/files/" + ID])
def test_other_urls_are_refused(url):
    with pytest.raises(RequestError, match="must be an http"):
        ask(url)
