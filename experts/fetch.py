"""The fetch guard: read media from http(s) URLs and local paths without SSRF, traversal or blow-ups.

URLs: http/https only; the host is resolved once, every address must be public (no loopback, private,
link-local, cloud metadata, multicast, reserved) unless an allow-listed network covers it, and the
connection goes to that vetted address (no DNS-rebinding window). Redirects are re-checked hop by
hop. Bodies are capped in size and time and must carry an expected content type.
Local paths: only inside allow-listed folders, after resolving symlinks and ``..``.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field

from experts.errors import ExpertInputError, UnsafeSourceError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]

# Cloud metadata endpoints; most are link-local already, listed so the refusal says why.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254")
)

# Content types accepted per media kind (the bytes are sniffed again after download).
ACCEPTED_TYPES: dict[str, tuple[str, ...]] = {
    "image": ("image/",),
    "audio": ("audio/", "application/ogg", "video/mp4", "video/webm"),
    "video": ("video/", "image/gif"),
    "text": ("text/", "application/json"),
}


class FetchPolicy(BaseModel):
    """What the guard lets through. Defaults are the production settings."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_bytes: int = 25 * 1024 * 1024
    timeout_s: float = 15.0
    max_redirects: int = 3
    # Networks exempt from the non-public refusal (tests allow 127.0.0.0/8 to reach their own server).
    allow_networks: tuple[str, ...] = ()
    # Folders local paths may be read from; empty means no local paths at all.
    local_roots: tuple[Path, ...] = Field(default=())

    @classmethod
    def from_env(cls) -> FetchPolicy:
        """``HUGGINGGPT_LOCAL_MEDIA_DIRS`` (os.pathsep-separated) and ``HUGGINGGPT_MAX_FETCH_BYTES``."""
        roots = tuple(
            Path(p) for p in os.environ.get("HUGGINGGPT_LOCAL_MEDIA_DIRS", "").split(os.pathsep) if p
        )
        max_bytes = int(os.environ.get("HUGGINGGPT_MAX_FETCH_BYTES", cls.model_fields["max_bytes"].default))
        return cls(local_roots=roots, max_bytes=max_bytes)


def _system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def check_address(address: IPAddress, policy: FetchPolicy) -> None:
    """Refuse an address a server-side fetch must never reach, unless the policy allow-lists it."""
    if any(address in ipaddress.ip_network(net, strict=False) for net in policy.allow_networks):
        return
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        check_address(address.ipv4_mapped, policy)
    if address in METADATA_ADDRESSES:
        raise UnsafeSourceError(f"refused: {address} is a cloud metadata address")
    for flag in (
        "is_loopback",
        "is_private",
        "is_link_local",
        "is_multicast",
        "is_reserved",
        "is_unspecified",
    ):
        if getattr(address, flag):
            raise UnsafeSourceError(
                f"refused: {address} is not a public address ({flag[3:].replace('_', '-')})"
            )
    if not address.is_global:
        raise UnsafeSourceError(f"refused: {address} is not a public address")


def _vetted_address(host: str, port: int, policy: FetchPolicy, resolver: Resolver) -> IPAddress:
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [literal]
    else:
        try:
            addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in resolver(host, port)]
        except (OSError, UnicodeError):
            raise UnsafeSourceError(f"refused: cannot resolve host {host!r}") from None
        if not addresses:
            raise UnsafeSourceError(f"refused: host {host!r} has no address")
    # Every address must pass: a name with one public and one private record is refused.
    for address in addresses:
        check_address(address, policy)
    return addresses[0]


def _content_type_ok(content_type: str, kind: str) -> bool:
    base = content_type.split(";", 1)[0].strip().lower()
    return any(base.startswith(prefix) for prefix in ACCEPTED_TYPES[kind])


def fetch_url(
    url: str, kind: str, policy: FetchPolicy, resolver: Resolver = _system_resolver
) -> tuple[bytes, str]:
    """GET ``url`` through the guard; returns the body and its declared content type."""
    deadline = time.monotonic() + policy.timeout_s
    for _hop in range(policy.max_redirects + 1):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise UnsafeSourceError(
                f"refused: scheme {parts.scheme or '(none)'!r}; only http and https are fetched"
            )
        if not parts.hostname:
            raise UnsafeSourceError("refused: URL without a host")
        if parts.username or parts.password:
            raise UnsafeSourceError("refused: credentials in URL")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise UnsafeSourceError("refused: invalid port") from None
        address = _vetted_address(parts.hostname, port, policy, resolver)
        ip_host = f"[{address}]" if address.version == 6 else str(address)
        pinned = parts._replace(netloc=f"{ip_host}:{port}").geturl()
        headers = {"Host": parts.netloc.rsplit("@", 1)[-1], "Accept": ", ".join(ACCEPTED_TYPES[kind])}
        # Connect to the vetted address; TLS still verifies the certificate against the real host name.
        extensions = {"sni_hostname": parts.hostname} if parts.scheme == "https" else {}
        remaining = max(deadline - time.monotonic(), 0.1)
        try:
            with (
                httpx.Client(
                    timeout=httpx.Timeout(remaining), follow_redirects=False, trust_env=False
                ) as client,
                client.stream("GET", pinned, headers=headers, extensions=extensions) as response,
            ):
                if response.is_redirect:
                    url = urljoin(url, response.headers.get("location", ""))
                    continue
                if response.status_code != 200:
                    raise ExpertInputError(f"fetching {parts.hostname} answered HTTP {response.status_code}")
                content_type = response.headers.get("content-type", "")
                if not _content_type_ok(content_type, kind):
                    raise UnsafeSourceError(
                        f"refused: content type {content_type or '(none)'!r} is not {kind}"
                    )
                declared = response.headers.get("content-length")
                if declared is not None and declared.isdigit() and int(declared) > policy.max_bytes:
                    raise UnsafeSourceError(
                        f"refused: {declared} bytes exceeds the {policy.max_bytes} byte cap"
                    )
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > policy.max_bytes:
                        raise UnsafeSourceError(f"refused: body exceeds the {policy.max_bytes} byte cap")
                    if time.monotonic() > deadline:
                        raise UnsafeSourceError(f"refused: download took longer than {policy.timeout_s} s")
                return bytes(body), content_type
        except httpx.TimeoutException:
            raise UnsafeSourceError(f"refused: download took longer than {policy.timeout_s} s") from None
        except httpx.HTTPError as exc:
            raise ExpertInputError(f"cannot fetch from {parts.hostname}: {exc.__class__.__name__}") from None
    raise UnsafeSourceError(f"refused: more than {policy.max_redirects} redirects")


def read_local(path_text: str, policy: FetchPolicy) -> bytes:
    """Bytes of a local file that lies inside an allow-listed folder (symlinks and ``..`` resolved first)."""
    if not policy.local_roots:
        raise UnsafeSourceError("refused: local paths are not allowed here")
    raw = path_text.removeprefix("file://")
    if "\x00" in raw:
        raise UnsafeSourceError("refused: NUL in path")
    if ".." in Path(raw).parts:
        raise UnsafeSourceError("refused: path traversal ('..')")
    roots = [Path(r).expanduser().resolve() for r in policy.local_roots]
    candidate = Path(raw).expanduser()
    if not candidate.is_absolute():
        candidate = roots[0] / candidate
    resolved = candidate.resolve()
    if not any(resolved.is_relative_to(root) for root in roots):
        raise UnsafeSourceError("refused: path is outside the allowed folders")
    if not resolved.is_file():
        raise ExpertInputError(f"no such file: {path_text}")
    size = resolved.stat().st_size
    if size > policy.max_bytes:
        raise UnsafeSourceError(f"refused: {size} bytes exceeds the {policy.max_bytes} byte cap")
    return resolved.read_bytes()
