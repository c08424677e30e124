"""Reading Panopto session ids from the links students paste.

Only the session id matters here: the viewer link is never fetched (``stream_url`` is), so
any host is accepted, since universities serve Panopto from their own domains.
"""

from __future__ import annotations

import re
import uuid
from urllib.parse import parse_qs, unquote, urlsplit

__all__ = ["InvalidPanoptoUrl", "extract_session_id"]

# Podcast links carry the session id as the file name: /Panopto/Podcast/<kind>/<GUID>.mp4
_PODCAST_PATH = re.compile(
    r"^/panopto/podcast/(?:social|download|syndication)/(?P<guid>[^/]+)\.mp4$",
    re.IGNORECASE,
)
_VIEWER_PAGES = {"/panopto/pages/viewer.aspx", "/panopto/pages/embed.aspx"}
_FOLDER_PAGE = "/panopto/pages/sessions/list.aspx"
_STREAM_SUFFIXES = (".m3u8", ".mp4", ".m4a", ".m4v", ".ts", ".mp3")


class InvalidPanoptoUrl(ValueError):
    """The link is not a Panopto link whose session id can be read; the message says why."""


def extract_session_id(url: str) -> str:
    """Return the lower-case session GUID of a Panopto viewer, embed or podcast link.

    Raises :class:`InvalidPanoptoUrl` with a message meant for the user otherwise.
    """
    try:
        parts = urlsplit((url or "").strip())
        hostname, _ = parts.hostname, parts.port  # both parse (and may refuse) the netloc
    except ValueError:
        raise InvalidPanoptoUrl("Panopto link is not a valid URL.") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise InvalidPanoptoUrl("Panopto link must start with http:// or https://.")
    if not hostname:
        raise InvalidPanoptoUrl("Panopto link has no host name.")

    path = unquote(parts.path).rstrip("/").lower()
    if path in _VIEWER_PAGES:
        return _session_id_from_query(parts.query)
    if path == _FOLDER_PAGE:
        raise InvalidPanoptoUrl(
            "This is a Panopto folder link; open one recording and paste its link."
        )
    podcast = _PODCAST_PATH.match(unquote(parts.path))
    if podcast:
        return _parse_guid(podcast.group("guid"))
    if path.endswith(_STREAM_SUFFIXES):
        raise InvalidPanoptoUrl(
            "This looks like a media stream URL, not a Panopto viewer link; "
            "paste the link of the Panopto viewer page."
        )
    raise InvalidPanoptoUrl(
        "Not a Panopto recording link: expected a Viewer.aspx or Embed.aspx link with an id."
    )


def _session_id_from_query(query: str) -> str:
    """Read ``id`` from a viewer or embed page's query string, case-insensitive names."""
    params = {name.lower(): values for name, values in parse_qs(query).items()}
    ids = params.get("id")
    if ids:
        return _parse_guid(ids[0])
    if "tid" in params:
        # tid is a delivery (transcode) id, not the session id, and cannot be mapped offline.
        raise InvalidPanoptoUrl(
            "This Panopto link has a 'tid' instead of a session 'id'; "
            "use Share > Copy link in Panopto to get the session link."
        )
    if "pid" in params:
        raise InvalidPanoptoUrl(
            "This is a Panopto playlist link without a session; open one recording of the "
            "playlist and paste its link."
        )
    raise InvalidPanoptoUrl("Panopto link has no session id ('id=' parameter).")


def _parse_guid(value: str) -> str:
    """Validate a GUID and return its canonical lower-case form."""
    candidate = value.strip().strip("{}")
    # uuid.UUID also accepts 32 bare hex digits and a "urn:uuid:" prefix; Panopto ids are
    # always the dashed form, and accepting more would let two spellings of one id through.
    if not re.fullmatch(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}", candidate):
        raise InvalidPanoptoUrl("Panopto session id is not a valid GUID.")
    return str(uuid.UUID(candidate))
