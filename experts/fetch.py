"""The fetch guard: read media from http(s) URLs and local paths without SSRF, traversal or blow-ups.

URLs: http/https only; the host is resolved once (with a timeout), every address must be public (no
loopback, private, link-local, cloud metadata, multicast, reserved, nor a tunnel to one: 6to4, NAT64,
Teredo) unless an allow-listed network covers it, and the
connection goes to that vetted address (no DNS-rebinding window). Redirects are re-checked hop by
hop. Bodies are capped in size and time and must carry an expected content type.
Local paths: only inside allow-listed folders, after resolving symlinks and ``..``.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field

from experts.errors import ExpertInputError, UnsafeSourceError

log = logging.getLogger(__name__)
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
    resolve_timeout_s: float = 3.0
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


# Special-purpose IPv6 blocks inside global unicast (2000::/3) that Python's is_global lets through or
# that tunnel to an IPv4 address behind them: 6to4 (2002:7f00:1:: is 127.0.0.1), NAT64 (64:ff9b::/96 is
# outside 2000::/3 but listed for clarity), Teredo and other IETF assignments, documentation, SRv6 SIDs.
_SPECIAL_V6 = tuple(
    ipaddress.ip_network(n)
    for n in (
        "2002::/16",
        "2001::/23",
        "2001:db8::/32",
        "3fff::/20",
        "5f00::/16",
        "64:ff9b::/96",
        "64:ff9b:1::/48",
    )
)
_GLOBAL_UNICAST_V6 = ipaddress.ip_network("2000::/3")
# IETF protocol assignments: Python counts some of them (192.0.0.8, the dummy address) as global.
_SPECIAL_V4 = (ipaddress.ip_network("192.0.0.0/24"),)
# One sentence for every refusal of where a URL leads: a client must not learn which internal names
# exist (a name that resolves to a private address and one that does not resolve read the same).
REFUSED_DESTINATION = "refused: the URL does not lead to a public internet address"
_resolving = ThreadPoolExecutor(max_workers=8, thread_name_prefix="resolve")


def _system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def why_not_public(address: IPAddress) -> str | None:
    """Why a server-side fetch must not reach ``address`` (for the log), or None when it may."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return why_not_public(address.ipv4_mapped)
        if address not in _GLOBAL_UNICAST_V6:
            return "outside IPv6 global unicast (2000::/3): loopback, site-local, NAT64, ULA, link-local..."
    if special := next((n for n in (*_SPECIAL_V4, *_SPECIAL_V6) if address in n), None):
        return f"special-purpose block {special}"
    if address in METADATA_ADDRESSES:
        return "cloud metadata address"
    for flag in (
        "is_loopback",
        "is_private",
        "is_link_local",
        "is_multicast",
        "is_reserved",
        "is_unspecified",
    ):
        if getattr(address, flag):
            return flag[3:].replace("_", "-")
    return None if address.is_global else "not globally routable"


def check_address(address: IPAddress, policy: FetchPolicy) -> None:
    """Refuse an address a server-side fetch must never reach, unless the policy allow-lists it."""
    if any(address in ipaddress.ip_network(net, strict=False) for net in policy.allow_networks):
        return
    if (reason := why_not_public(address)) is not None:
        log.info("fetch refused: %s is %s", address, reason)
        raise UnsafeSourceError(REFUSED_DESTINATION)


def _resolve(host: str, port: int, policy: FetchPolicy, resolver: Resolver) -> list[str]:
    """The resolver's answer within ``policy.resolve_timeout_s`` (getaddrinfo itself has no timeout; a
    stuck lookup is left to finish on its pool thread)."""
    try:
        return _resolving.submit(resolver, host, port).result(timeout=policy.resolve_timeout_s)
    except (OSError, UnicodeError, TimeoutError) as e:
        log.info("fetch refused: %r does not resolve (%s)", host, type(e).__name__)
        raise UnsafeSourceError(REFUSED_DESTINATION) from None


def _vetted_address(host: str, port: int, policy: FetchPolicy, resolver: Resolver) -> IPAddress:
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [literal]
    else:
        try:
            addresses = [
                ipaddress.ip_address(a.split("%", 1)[0]) for a in _resolve(host, port, policy, resolver)
            ]
        except ValueError:
            raise UnsafeSourceError(REFUSED_DESTINATION) from None
        if not addresses:
            raise UnsafeSourceError(REFUSED_DESTINATION)
    # Every address must pass: a name with one public and one private record is refused.
    for address in addresses:
        check_address(address, policy)
    return addresses[0]


def _content_type_ok(content_type: str, kind: str) -> bool:
    base = content_type.split(";", 1)[0].strip().lower()
    return any(base.startswith(prefix) for prefix in ACCEPTED_TYPES[kind])


def _accept_header(kind: str) -> str:
    """The accepted types as an Accept header: a prefix "image/" is the media range "image/*"."""
    return ", ".join(t + "*" if t.endswith("/") else t for t in ACCEPTED_TYPES[kind])


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
        headers = {"Host": parts.netloc.rsplit("@", 1)[-1], "Accept": _accept_header(kind)}
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
