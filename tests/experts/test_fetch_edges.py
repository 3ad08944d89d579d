"""The fetch guard's edges that `make mutate` found untested: exact limits (redirects, bytes), the
request it sends (Host, Accept, default ports), credentials, and that public addresses do pass."""

from __future__ import annotations

import http.server
import ipaddress
import os
import socket
import time
from collections.abc import Iterator

import pytest
from expert_samples import serving

from experts.errors import ExpertInputError, UnsafeSourceError
from experts.fetch import (
    REFUSED_DESTINATION,
    FetchPolicy,
    _system_resolver,
    fetch_url,
    read_local,
    why_not_public,
)

CAP = 4096
POLICY = FetchPolicy(allow_networks=("127.0.0.0/8",), max_bytes=CAP, timeout_s=2.0)
SEEN: list[dict[str, str]] = []


class _Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        SEEN.append({"path": self.path, "host": self.headers["Host"], "accept": self.headers["Accept"]})
        parts = self.path.strip("/").split("/")
        if parts[0] == "hop":  # /hop/N redirects N more times, then answers
            n = int(parts[1])
            self.send_response(302 if n else 200)
            self.send_header("Location" if n else "Content-Type", f"/hop/{n - 1}" if n else "image/png")
            self.send_header("Content-Length", "0" if n else "3")
            self.end_headers()
            if not n:
                self.wfile.write(b"png")
        elif parts[0] in ("declared", "streamed"):  # N bytes, with or without Content-Length
            body = b"\0" * int(parts[1])
            self.send_response(200)
            self.send_header("Content-Type", "image/png; charset=binary")
            if parts[0] == "declared":
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            self.close_connection = True
        elif parts[0] == "drip":  # /drip/N/GAP_MS: N chunks of 1,000 distinct bytes, GAP_MS apart
            n, gap = int(parts[1]), int(parts[2]) / 1000
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(1000 * n))
            self.end_headers()
            for k in range(n):
                self.wfile.write(bytes([k]) * 1000)
                self.wfile.flush()
                time.sleep(gap)
        elif parts[0] == "nowhere":  # a redirect that says nowhere
            self.send_response(302)
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif parts[0] == "untyped":
            self.send_response(200)
            self.send_header("Content-Length", "3")
            self.end_headers()
            self.wfile.write(b"png")
        else:
            self.send_error(404)


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    with serving(_Handler) as httpd:
        yield httpd.server_address[1]


def loopback(host: str, port: int) -> list[str]:
    return ["127.0.0.1"]


def test_exactly_max_redirects_are_followed_and_one_more_is_refused(port: int):
    body, _ = fetch_url(f"http://127.0.0.1:{port}/hop/3", "image", POLICY)
    assert body == b"png"
    with pytest.raises(UnsafeSourceError, match="more than 3 redirects"):
        fetch_url(f"http://127.0.0.1:{port}/hop/4", "image", POLICY)


@pytest.mark.parametrize("route", ["declared", "streamed"])
def test_a_body_of_exactly_the_cap_passes_and_one_byte_more_is_refused(port: int, route: str):
    body, content_type = fetch_url(f"http://127.0.0.1:{port}/{route}/{CAP}", "image", POLICY)
    assert len(body) == CAP and content_type == "image/png; charset=binary"
    with pytest.raises(UnsafeSourceError, match=f"exceeds the {CAP} byte cap"):
        fetch_url(f"http://127.0.0.1:{port}/{route}/{CAP + 1}", "image", POLICY)


def test_the_request_names_the_host_asked_for_and_the_types_wanted(port: int):
    """The connection goes to the vetted address, but the server must see the name the user gave (virtual
    hosts, TLS) and which media types are wanted."""
    SEEN.clear()
    fetch_url(f"http://pics.example:{port}/hop/0", "image", POLICY, loopback)
    assert SEEN[0]["host"] == f"pics.example:{port}"
    assert SEEN[0]["accept"] == "image/*"
    with pytest.raises(UnsafeSourceError, match=r"^refused: content type 'image/png' is not audio$"):
        fetch_url(f"http://pics.example:{port}/hop/0", "audio", POLICY, loopback)
    assert SEEN[-1]["accept"] == "audio/*, application/ogg, video/mp4, video/webm"


@pytest.mark.parametrize(
    ("url", "port"), [("http://pics.example/x.png", 80), ("https://pics.example/x.png", 443)]
)
def test_a_url_without_a_port_resolves_for_its_schemes_default(url: str, port: int):
    asked: list[tuple[str, int]] = []

    def resolver(host: str, p: int) -> list[str]:
        asked.append((host, p))
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    with pytest.raises(UnsafeSourceError):
        fetch_url(url, "image", FetchPolicy(), resolver)
    assert asked == [("pics.example", port)]


@pytest.mark.parametrize(
    "url", ["http://user@pics.example/x.png", "http://:secret@pics.example/x.png", "http://u:p@pics.example/"]
)
def test_credentials_in_the_url_are_refused_before_any_lookup(url: str):
    def resolver(host: str, port: int) -> list[str]:
        raise AssertionError("looked up a URL with credentials")

    with pytest.raises(UnsafeSourceError, match=r"^refused: credentials in URL$"):
        fetch_url(url, "image", FetchPolicy(), resolver)


def test_the_refusals_of_malformed_urls_say_why():
    with pytest.raises(UnsafeSourceError, match=r"^refused: scheme 'ftp'; only http and https are fetched$"):
        fetch_url("ftp://pics.example/x.png", "image", FetchPolicy())
    with pytest.raises(UnsafeSourceError, match=r"^refused: scheme '\(none\)'; only http and https"):
        fetch_url("pics.example/x.png", "image", FetchPolicy())
    with pytest.raises(UnsafeSourceError, match=r"^refused: URL without a host$"):
        fetch_url("http:///x.png", "image", FetchPolicy())


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:2800:220:1:248:1893:25c8:1946"])
def test_public_addresses_pass_the_guard(address: str):
    """Every other test refuses or allow-lists loopback; this one catches a guard that refuses everything."""
    assert why_not_public(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("100.100.100.200", "cloud metadata address"),  # Alibaba's, inside shared address space
        ("127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("224.0.0.1", "multicast"),
        ("192.0.0.8", "special-purpose block 192.0.0.0/24"),
        ("::ffff:10.0.0.1", "private"),  # IPv4-mapped: judged as the IPv4 address
        (
            "fc00::1",
            "outside IPv6 global unicast (2000::/3): loopback, site-local, NAT64, ULA, link-local...",
        ),
    ],
)
def test_each_refused_address_is_logged_with_its_reason(address: str, reason: str):
    assert why_not_public(ipaddress.ip_address(address)) == reason


def test_an_allowed_network_may_be_written_with_host_bits():
    policy = FetchPolicy(allow_networks=("127.0.0.1/8",), max_bytes=CAP)
    with pytest.raises(UnsafeSourceError, match="credentials"):  # got past nothing yet: the URL is bad
        fetch_url("http://a@127.0.0.1/x", "image", policy)
    from experts.fetch import check_address

    check_address(ipaddress.ip_address("127.0.0.9"), policy)  # no error: 127.0.0.1/8 reads as 127.0.0.0/8


def test_a_scoped_ipv6_answer_is_judged_without_its_zone():
    def resolver(host: str, port: int) -> list[str]:
        return ["fe80::1%eth0"]

    with pytest.raises(UnsafeSourceError, match="not lead to a public"):
        fetch_url("http://printer.local/x.png", "image", FetchPolicy(), resolver)


def test_an_invalid_port_and_a_missing_content_type_are_refused_with_the_reason(port: int):
    with pytest.raises(UnsafeSourceError, match=r"^refused: invalid port$"):
        fetch_url("http://pics.example:99999/x.png", "image", FetchPolicy())
    with pytest.raises(UnsafeSourceError, match=r"^refused: content type '\(none\)' is not image$"):
        fetch_url(f"http://127.0.0.1:{port}/untyped", "image", POLICY)


def test_proxy_settings_in_the_environment_are_ignored(port: int, monkeypatch: pytest.MonkeyPatch):
    """The guard vetted the address it connects to; a proxy from the environment would make the
    connection somewhere else (and a dead one, as here, would fail every fetch)."""
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    body, _ = fetch_url(f"http://127.0.0.1:{port}/hop/0", "image", POLICY)
    assert body == b"png"


def test_a_refused_address_is_logged_with_its_reason(caplog: pytest.LogCaptureFixture):
    def resolver(host: str, port: int) -> list[str]:
        return ["10.0.0.7"]

    with caplog.at_level("INFO", logger="experts.fetch"), pytest.raises(UnsafeSourceError):
        fetch_url("http://intranet.example/x.png", "image", FetchPolicy(), resolver)
    assert "fetch refused: 10.0.0.7 is private" in caplog.messages


def test_an_ipv6_address_is_connected_to_in_brackets():
    """A literal IPv6 destination (allow-listed here: ::1) is pinned as http://[::1]:port/."""
    with serving(_Handler, "::1") as server:
        policy = FetchPolicy(allow_networks=("::1/128",), max_bytes=CAP, timeout_s=2.0)
        body, _ = fetch_url(f"http://[::1]:{server.server_address[1]}/hop/0", "image", policy)
        assert body == b"png"


def test_the_system_resolver_answers_addresses():
    """Catches the lookup of another host (getaddrinfo(None) answers loopback) or answers that are not
    the addresses (ports, "None"): every public fetch would be refused or judged on the wrong address."""
    assert _system_resolver("192.0.2.7", 443) == ["192.0.2.7"]
    assert "127.0.0.1" in _system_resolver("localhost", 80)


def test_a_literal_address_is_judged_as_written_never_looked_up(port: int):
    """Catches a literal IP sent to the resolver, whose answer (here a private one) would decide instead."""

    def resolver(host: str, p: int) -> list[str]:
        return ["10.0.0.1"]

    body, _ = fetch_url(f"http://127.0.0.1:{port}/hop/0", "image", POLICY, resolver)
    assert body == b"png"


@pytest.mark.parametrize("answer", [OSError("no such host"), []])
def test_a_name_that_does_not_resolve_is_refused_and_logged(answer, caplog: pytest.LogCaptureFixture):
    """The user reads the one refusal text; the operator's log says which name failed and how."""

    def resolver(host: str, p: int) -> list[str]:
        if isinstance(answer, Exception):
            raise answer
        return answer

    with caplog.at_level("INFO", logger="experts.fetch"), pytest.raises(UnsafeSourceError) as refused:
        fetch_url("http://nowhere.example/x.png", "image", FetchPolicy(), resolver)
    assert str(refused.value) == REFUSED_DESTINATION
    if answer:
        assert "fetch refused: 'nowhere.example' does not resolve (OSError)" in caplog.messages


def test_a_body_in_several_chunks_arrives_whole(port: int):
    """Catches a body that keeps only its last chunk: every larger image would arrive cut."""
    body, _ = fetch_url(
        f"http://127.0.0.1:{port}/drip/3/20", "image", POLICY.model_copy(update={"max_bytes": 10_000})
    )
    assert body == b"\0" * 1000 + b"\1" * 1000 + b"\2" * 1000


def test_a_download_slower_than_the_deadline_is_refused_with_the_reason(port: int):
    """Each chunk comes in time, the whole does not: the deadline, not a read timeout, ends it."""
    policy = POLICY.model_copy(update={"max_bytes": 10_000, "timeout_s": 0.5})
    with pytest.raises(UnsafeSourceError, match=r"^refused: download took longer than 0.5 s$"):
        fetch_url(f"http://127.0.0.1:{port}/drip/8/150", "image", policy)


def test_failures_of_the_source_say_what_happened(port: int):
    """The user reads why their URL gave nothing: the status, the connection error, a redirect loop."""
    with pytest.raises(ExpertInputError, match=r"^fetching 127.0.0.1 answered HTTP 404$"):
        fetch_url(f"http://127.0.0.1:{port}/missing", "image", POLICY)
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        dead = closed.getsockname()[1]
    with pytest.raises(ExpertInputError, match=r"^cannot fetch from 127.0.0.1: ConnectError$"):
        fetch_url(f"http://127.0.0.1:{dead}/x.png", "image", POLICY)
    with pytest.raises(UnsafeSourceError, match=r"^refused: more than 3 redirects$"):
        fetch_url(f"http://127.0.0.1:{port}/nowhere", "image", POLICY)


def test_a_local_file_of_exactly_the_cap_is_read_and_a_missing_one_named(tmp_path):
    policy = FetchPolicy(local_roots=(tmp_path,), max_bytes=CAP)
    (tmp_path / "cap.png").write_bytes(b"\0" * CAP)
    assert len(read_local(str(tmp_path / "cap.png"), policy)) == CAP
    with pytest.raises(ExpertInputError, match=r"^no such file: gone.png$"):
        read_local("gone.png", policy)


def test_the_policy_reads_local_folders_and_the_size_cap_from_the_environment(
    tmp_path, monkeypatch: pytest.MonkeyPatch
):
    """HUGGINGGPT_LOCAL_MEDIA_DIRS (os.pathsep-separated, empty parts ignored) and HUGGINGGPT_MAX_FETCH_BYTES;
    unset, no local path is readable and the default cap holds."""
    monkeypatch.delenv("HUGGINGGPT_LOCAL_MEDIA_DIRS", raising=False)
    monkeypatch.delenv("HUGGINGGPT_MAX_FETCH_BYTES", raising=False)
    default = FetchPolicy.from_env()
    assert (default.local_roots, default.max_bytes) == ((), FetchPolicy().max_bytes)
    monkeypatch.setenv(
        "HUGGINGGPT_LOCAL_MEDIA_DIRS", f"{tmp_path / 'a'}{os.pathsep}{os.pathsep}{tmp_path / 'b'}"
    )
    monkeypatch.setenv("HUGGINGGPT_MAX_FETCH_BYTES", "12345")
    policy = FetchPolicy.from_env()
    assert (policy.local_roots, policy.max_bytes) == ((tmp_path / "a", tmp_path / "b"), 12345)
