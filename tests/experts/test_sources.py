"""The media resolver and every refusal of the fetch guard, against a real loopback HTTP server."""

from __future__ import annotations

import base64
import http.server
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from expert_samples import png_bytes, serving, wav_bytes

from experts.artifacts import ArtifactStore
from experts.errors import ArtifactNotFound, ExpertInputError, UnsafeSourceError
from experts.fetch import FetchPolicy, fetch_url, read_local
from experts.media import decode_image
from experts.sources import resolve_media

PNG = png_bytes(8, 8)
LOOPBACK_ALLOWED = FetchPolicy(allow_networks=("127.0.0.0/8",), max_bytes=4096, timeout_s=1.0)


class _Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:  # keep pytest output clean
        pass

    def _send(self, body: bytes, content_type: str, length: int | None = None) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path == "/img.png":
            self._send(PNG, "image/png")
        elif self.path == "/page.html":
            self._send(b"<html></html>", "text/html")
        elif self.path == "/fake.png":  # declared image, HTML body
            self._send(b"<html>not an image</html>", "image/png")
        elif self.path == "/declared-huge":
            self._send(PNG, "image/png", length=10**9)
        elif self.path == "/stream-huge":  # no Content-Length: the cap must hold while streaming
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()
            for _ in range(64):
                self.wfile.write(b"\0" * 1024)
            self.close_connection = True
        elif self.path == "/slow":
            time.sleep(2.5)
            self._send(PNG, "image/png")
        elif self.path.startswith("/redirect"):
            self.send_response(302)
            self.send_header("Location", self.path.split("?to=", 1)[1])
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self.send_error(404)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with serving(_Handler) as httpd:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"


# --- the accepted forms ---------------------------------------------------------------------------


def test_artifact_id_path_and_url_resolve_from_the_store(store: ArtifactStore):
    artifact_id = store.put(PNG, "image/png")
    for form in (
        artifact_id,
        f"/v1/artifacts/{artifact_id}",
        f"http://example.com/v1/artifacts/{artifact_id}",
    ):
        media = resolve_media(form, "image", store)
        assert (media.data, media.media_type) == (PNG, "image/png")


def test_artifact_path_not_in_store_is_not_found(store: ArtifactStore):
    with pytest.raises(ArtifactNotFound):
        resolve_media("/v1/artifacts/" + "1" * 64 + ".png", "image", store)


def test_data_url_and_raw_base64(store: ArtifactStore):
    encoded = base64.b64encode(PNG).decode()
    assert resolve_media(f"data:image/png;base64,{encoded}", "image", store).data == PNG
    assert resolve_media(encoded, "image", store).data == PNG


def test_audio_data_url(store: ArtifactStore):
    wav = wav_bytes(0.1)
    media = resolve_media("data:audio/wav;base64," + base64.b64encode(wav).decode(), "audio", store)
    assert media.media_type == "audio/wav"


def test_allowed_http_fetch(server: str, store: ArtifactStore):
    assert resolve_media(f"{server}/img.png", "image", store, LOOPBACK_ALLOWED).data == PNG


def test_redirect_within_allowed_hosts_is_followed(server: str):
    data, _ = fetch_url(f"{server}/redirect?to=/img.png", "image", LOOPBACK_ALLOWED)
    assert data == PNG


def test_local_path_inside_an_allowed_folder(tmp_path: Path, store: ArtifactStore):
    (tmp_path / "a.png").write_bytes(PNG)
    policy = FetchPolicy(local_roots=(tmp_path,))
    assert resolve_media(str(tmp_path / "a.png"), "image", store, policy).data == PNG
    assert resolve_media("a.png", "image", store, policy).data == PNG  # relative to the first root


# --- refusals -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x.png",  # loopback
        "http://localhost/x.png",  # loopback after DNS resolution
        "http://[::1]/x.png",  # IPv6 loopback
        "http://[::ffff:127.0.0.1]/x.png",  # IPv4-mapped loopback
        "http://10.1.2.3/x.png",  # private
        "http://192.168.0.1/x.png",
        "http://172.16.5.4/x.png",
        "http://169.254.10.10/x.png",  # link-local
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata
        "http://[fd00:ec2::254]/x.png",  # cloud metadata, IPv6
        "http://0.0.0.0/x.png",  # unspecified
        "http://100.64.0.1/x.png",  # carrier-grade NAT: not public
        "http://224.0.0.1/x.png",  # multicast
        "http://user:pw@93.184.216.34/x.png",  # credentials
        "http://no-such-host.invalid/x.png",  # unresolvable
        "http://93.184.216.34:99999/x.png",  # bad port
        "http://[2002:7f00:1::1]/x.png",  # 6to4 around 127.0.0.1
        "http://[2002:a9fe:a9fe::1]/x.png",  # 6to4 around 169.254.169.254
        "http://[2002:808:808::1]/x.png",  # 6to4 at all: a tunnel the guard cannot see through
        "http://[64:ff9b::7f00:1]/x.png",  # NAT64 around 127.0.0.1
        "http://[64:ff9b:1::a00:1]/x.png",  # local-use NAT64
        "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/x.png",  # Teredo
        "http://[fec0::1]/x.png",  # site-local
        "http://[::127.0.0.1]/x.png",  # IPv4-compatible (deprecated)
        "http://[2001:db8::1]/x.png",  # documentation
        "http://[100::1]/x.png",  # discard-only
        "http://198.18.0.1/x.png",  # benchmarking
        "http://192.0.0.8/x.png",  # IETF protocol assignments
    ],
)
def test_non_public_destinations_are_refused(url: str, store: ArtifactStore):
    with pytest.raises(UnsafeSourceError):
        resolve_media(url, "image", store)


def test_every_destination_refusal_reads_the_same():
    # Which internal names exist must not show: unresolvable, private and loopback answer alike.
    def resolver(host: str, port: int) -> list[str]:
        known = {"private.corp": ["10.0.0.7"], "public.example": ["93.184.216.34", "127.0.0.1"]}
        if host not in known:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return known[host]

    messages = set()
    for url in ("http://private.corp/x.png", "http://nowhere.corp/x.png", "http://public.example/x.png",
                "http://127.0.0.1/x.png", "http://[2002:7f00:1::1]/x.png"):  # fmt: skip
        with pytest.raises(UnsafeSourceError) as caught:
            fetch_url(url, "image", FetchPolicy(), resolver)
        messages.add(str(caught.value))
    assert len(messages) == 1 and "corp" not in messages.pop()


def test_name_resolution_has_a_timeout():
    def stuck(host: str, port: int) -> list[str]:
        time.sleep(3)
        return ["93.184.216.34"]

    start = time.perf_counter()
    with pytest.raises(UnsafeSourceError):
        fetch_url("http://slow-dns.example/x.png", "image", FetchPolicy(resolve_timeout_s=0.3), stuck)
    assert time.perf_counter() - start < 1.5


@pytest.mark.parametrize(
    "url", ["ftp://example.com/a.png", "file:///etc/passwd", "gopher://x/", "javascript:1"]
)
def test_other_schemes_are_refused(url: str, store: ArtifactStore):
    with pytest.raises(UnsafeSourceError):
        resolve_media(url, "image", store)


def test_a_name_with_any_private_address_is_refused():
    def resolver(host: str, port: int) -> list[str]:
        return ["93.184.216.34", "10.0.0.7"]  # DNS answering one public and one private record

    with pytest.raises(UnsafeSourceError, match="not lead to a public"):
        fetch_url("http://mixed.example/x.png", "image", FetchPolicy(), resolver)


def test_loopback_is_refused_by_default_even_for_a_live_server(server: str):
    with pytest.raises(UnsafeSourceError, match="not lead to a public"):
        fetch_url(f"{server}/img.png", "image", FetchPolicy())


def test_redirect_to_a_private_address_is_refused(server: str):
    with pytest.raises(UnsafeSourceError, match="not lead to a public"):
        fetch_url(f"{server}/redirect?to=http://10.0.0.1/x.png", "image", LOOPBACK_ALLOWED)


def test_redirect_loops_are_cut(server: str):
    with pytest.raises(UnsafeSourceError, match="redirects"):
        fetch_url(f"{server}/redirect?to=/redirect?to=/redirect?to=/redirect?to=/img.png", "image",
                  FetchPolicy(allow_networks=("127.0.0.0/8",), max_redirects=2))  # fmt: skip


def test_wrong_content_type_is_refused(server: str):
    with pytest.raises(UnsafeSourceError, match="content type"):
        fetch_url(f"{server}/page.html", "image", LOOPBACK_ALLOWED)


def test_declared_image_whose_bytes_are_not_an_image_is_refused(server: str, store: ArtifactStore):
    with pytest.raises(ExpertInputError, match="not image"):
        resolve_media(f"{server}/fake.png", "image", store, LOOPBACK_ALLOWED)


def test_declared_size_over_the_cap_is_refused(server: str):
    with pytest.raises(UnsafeSourceError, match="cap"):
        fetch_url(f"{server}/declared-huge", "image", LOOPBACK_ALLOWED)


def test_streamed_size_over_the_cap_is_refused(server: str):
    with pytest.raises(UnsafeSourceError, match="cap"):
        fetch_url(f"{server}/stream-huge", "image", LOOPBACK_ALLOWED)


def test_slow_server_times_out(server: str):
    start = time.monotonic()
    with pytest.raises(UnsafeSourceError, match="longer than"):
        fetch_url(f"{server}/slow", "image", LOOPBACK_ALLOWED)
    assert time.monotonic() - start < 2.0


def test_oversized_data_url_is_refused(store: ArtifactStore):
    big = "data:image/png;base64," + base64.b64encode(PNG + b"\0" * 5000).decode()
    with pytest.raises(UnsafeSourceError, match="cap"):
        resolve_media(big, "image", store, FetchPolicy(max_bytes=4096))


def test_wrong_kind_is_refused(store: ArtifactStore):
    with pytest.raises(ExpertInputError, match="not audio"):
        resolve_media(store.put(PNG, "image/png"), "audio", store)


def test_local_paths_are_refused_without_allowed_folders(tmp_path: Path):
    (tmp_path / "a.png").write_bytes(PNG)
    with pytest.raises(UnsafeSourceError, match=r"^refused: local paths are not allowed here$"):
        read_local(str(tmp_path / "a.png"), FetchPolicy())


def test_a_file_named_but_never_attached_is_reported_as_that(store: ArtifactStore):
    # "How many people are in crowd.jpg?" with no file attached: the user is told what to do.
    with pytest.raises(
        ExpertInputError, match=r"^crowd\.jpg was not attached: attach the file or give its URL"
    ):
        resolve_media("crowd.jpg", "image", store)
    with pytest.raises(UnsafeSourceError, match=r"^refused: local paths are not allowed here$"):
        resolve_media("/etc/crowd.jpg", "image", store)


def test_local_traversal_and_escapes_are_refused(tmp_path: Path):
    root = tmp_path / "media"
    root.mkdir()
    (tmp_path / "secret.png").write_bytes(PNG)
    (root / "link.png").symlink_to(tmp_path / "secret.png")
    policy = FetchPolicy(local_roots=(root,))
    # The reason is what the user is shown: each refusal names its own.
    traversal, outside = "refused: path traversal ('..')", "refused: path is outside the allowed folders"
    for path, why in ((f"{root}/../secret.png", traversal), ("../secret.png", traversal),
                      (str(tmp_path / "secret.png"), outside), (str(root / "link.png"), outside),
                      ("file://" + str(tmp_path / "secret.png"), outside),
                      (str(root / "a\x00.png"), "refused: NUL in path")):  # fmt: skip
        with pytest.raises(UnsafeSourceError, match=f"^{re.escape(why)}$"):
            read_local(path, policy)


def test_local_file_over_the_cap_is_refused(tmp_path: Path):
    (tmp_path / "big.png").write_bytes(PNG + b"\0" * 5000)
    with pytest.raises(UnsafeSourceError, match="cap"):
        read_local(str(tmp_path / "big.png"), FetchPolicy(local_roots=(tmp_path,), max_bytes=4096))


def test_decompression_bomb_is_refused():
    # A 4000x4000 PNG compresses to a few KB but decodes to 48 MB: refused from the header alone.
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (4000, 4000)).save(buf, format="PNG")
    assert len(buf.getvalue()) < 200_000
    with pytest.raises(UnsafeSourceError, match=r"decompression bomb|pixels"):
        decode_image(buf.getvalue(), max_pixels=10_000_000)
    assert decode_image(PNG).size == (8, 8)


async def test_a_decompression_bomb_fails_its_task_at_the_default_pixel_limit(experts, store: ArtifactStore):
    """Through a real adapter with the default ExpertContext limit (16 Mpx): an 8000 x 8000 PNG of a few
    KB is refused from its header, as the caller's fault. Catches an adapter that decodes without the
    limit (and 64 Mpx of pixels)."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("L", (8000, 8000)).save(buf, format="PNG")
    bomb = store.put(buf.getvalue(), "image/png")
    with pytest.raises(UnsafeSourceError, match=r"decompression bomb|pixels"):
        await experts.invoke("offline/tiny-vit", "image-classification", {"image": bomb})


def test_garbage_is_an_input_error(store: ArtifactStore):
    for value in ("", None, 42, "not a thing at all"):
        with pytest.raises(ExpertInputError):
            resolve_media(value, "image", store)
