"""A document's bytes as an HTTP response, the same on every face (v1, Camunda, web app): streamed a chunk row at a
time, the sniffed type with `X-Content-Type-Options: nosniff`, `Content-Disposition` with the Thai name kept
(RFC 6266 `filename*`), never cached, and a Content-Security-Policy that lets nothing in it run. PDFs and PNG/JPEG
images may be shown inline (`inline=True`) in a frame of the service's own pages; everything else is an
attachment."""

from __future__ import annotations

from urllib.parse import quote

from starlette.responses import Response, StreamingResponse

from mso_flow.services.documents import queries, rules

ATTACHMENT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; frame-ancestors 'none'; sandbox"
IMAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; frame-ancestors 'self'; sandbox"
# the browser's PDF viewer is an embedded viewer: it needs `object-src` and does not run in a sandboxed document
PDF_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; object-src 'self'; frame-ancestors 'self'"


def content_disposition(filename: str, inline: bool = False) -> str:
    """RFC 6266: an ASCII fallback name and the UTF-8 name (`filename*`), so Thai names arrive as uploaded."""
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\%;' else "_" for c in filename) or "document"
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def file_headers(filename: str, media_type: str, inline: bool) -> dict[str, str]:
    """The headers of a document's bytes (or of a rendering of them)."""
    inline = inline and media_type in rules.INLINE
    csp = (PDF_CSP if media_type == rules.PDF else IMAGE_CSP) if inline else ATTACHMENT_CSP
    return {
        "content-disposition": content_disposition(filename, inline),
        "x-content-type-options": "nosniff",
        "content-security-policy": csp,
        "x-frame-options": "SAMEORIGIN" if inline else "DENY",
        "cache-control": "private, no-store",
        "referrer-policy": "no-referrer",
    }


def _fallback_name(download: queries.Download) -> str:
    """The file's name, or (masked, which a download never is) one made from the id and type."""
    if download.version.filename:
        return download.version.filename
    ext = rules.ALLOWED.get(download.version.media_type, ("bin",))[0]
    return f"{download.document.id}.{ext}"


def stream(download: queries.Download, inline: bool = False, media_type: str | None = None) -> Response:
    """The version's bytes; `media_type` overrides the type sent (Camunda sends `application/octet-stream`)."""
    sent_type = media_type or download.version.media_type
    if sent_type in rules.TEXTUAL:
        sent_type += "; charset=utf-8"
    headers = file_headers(_fallback_name(download), download.version.media_type, inline and media_type is None)
    headers["content-length"] = str(download.version.size)
    if download.document.withdrawn:  # still readable to its readers, marked
        headers["x-mso-document-withdrawn"] = "true"
    return StreamingResponse(download.chunks, media_type=sent_type, headers=headers)
