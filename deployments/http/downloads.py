"""Artifact downloads streamed from the store in chunks (never read whole into memory), with single
byte ranges (``Range: bytes=a-b``, ``a-``, ``-n``) for media players and resumed downloads."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import BinaryIO

from fastapi.responses import Response, StreamingResponse

from deployments.http.protocol import error
from experts.artifacts import CHUNK_BYTES

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class Unsatisfiable(Exception):
    pass


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(first, last) inclusive, or None for the whole file (no header, a malformed one, or several
    ranges: RFC 9110 lets a server answer those with the whole representation)."""
    if not header:
        return None
    m = _RANGE.match(header.strip().replace(" ", ""))
    if m is None or m[1] == m[2] == "":
        return None
    if m[1] == "":  # the last n bytes
        n = int(m[2])
        if n == 0 or size == 0:
            raise Unsatisfiable
        return max(0, size - n), size - 1
    first = int(m[1])
    last = min(int(m[2]), size - 1) if m[2] else size - 1
    if first >= size or first > last:
        raise Unsatisfiable
    return first, last


async def _chunks(f: BinaryIO, first: int, length: int) -> AsyncIterator[bytes]:
    try:
        await asyncio.to_thread(f.seek, first)
        left = length
        while left > 0:
            chunk = await asyncio.to_thread(f.read, min(CHUNK_BYTES, left))
            if not chunk:
                return
            left -= len(chunk)
            yield chunk
    finally:
        f.close()


def file_response(
    f: BinaryIO, size: int, media_type: str, range_header: str | None, headers: dict[str, str]
) -> Response:
    headers = {**headers, "Accept-Ranges": "bytes"}
    try:
        wanted = byte_range(range_header, size)
    except Unsatisfiable:
        f.close()
        return error(
            416,
            f"the range {range_header!r} is outside the artifact's {size} bytes",
            "range_not_satisfiable",
            headers={"Content-Range": f"bytes */{size}"},
        )
    if wanted is None:
        headers["Content-Length"] = str(size)
        return StreamingResponse(_chunks(f, 0, size), media_type=media_type, headers=headers)
    first, last = wanted
    headers |= {"Content-Range": f"bytes {first}-{last}/{size}", "Content-Length": str(last - first + 1)}
    return StreamingResponse(
        _chunks(f, first, last - first + 1), status_code=206, media_type=media_type, headers=headers
    )
