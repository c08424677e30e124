"""Conditional GETs of the API's reads (RFC 9110 §8.8.3, §13.1.2, §15.4.5): a 200 carries a
strong ``ETag``, and a request whose ``If-None-Match`` names it gets 304 with no body.

The tag is a hash of the bytes of the body, so it changes whenever the body does, whatever
row or field the body comes from, and two representations of one resource (``Accept:
application/json; indent=4``) have two tags, as strong tags must. The read still runs; a
304 saves the body on the wire and the client's work on it. It counts against the rate
limit as any request does: the throttle runs before the view.

A view uses it through ``ConditionalGetMixin`` and lists its conditional actions in
``conditional_actions``; ``core.openapi.conditional_responses`` documents them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from typing import Any

from django.http import HttpRequest, HttpResponseBase, HttpResponseNotModified
from django.utils.http import parse_etags

# What a 304 repeats of the 200 it stands for (RFC 9110 §15.4.5).
_NOT_MODIFIED_HEADERS = ("ETag", "Cache-Control", "Vary", "Expires", "Content-Location")


def body_etag(body: bytes) -> str:
    """The strong entity tag of ``body``: a quoted hash of its bytes."""
    return f'"{hashlib.blake2b(body, digest_size=16).hexdigest()}"'


def none_match(request: HttpRequest, etag: str) -> bool:
    """Whether the request's ``If-None-Match`` names ``etag``: ``*``, or a tag in its list
    compared weakly, as §13.1.2 has it for this header (``W/"x"`` names ``"x"``). Tags
    that do not parse are ignored."""
    header = request.headers.get("If-None-Match")
    if header is None:
        return False
    tags = parse_etags(header)
    return tags == ["*"] or any(tag.removeprefix("W/") == etag for tag in tags)


def conditional_response(request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
    """``response`` with its strong ``ETag``, or a 304 with no body when ``If-None-Match``
    names that tag. Only a 200 to a GET or HEAD, with its body in hand; any other answer
    (an error, a stream) is given as it is."""
    if request.method not in ("GET", "HEAD") or response.status_code != 200:
        return response
    if response.streaming:
        return response
    render = getattr(response, "render", None)  # DRF's Response, a TemplateResponse
    if render is not None:
        render()
    response["ETag"] = body_etag(response.content)
    # The client may keep the body, for itself only, and revalidates it on every use.
    response.setdefault("Cache-Control", "private, no-cache")
    if not none_match(request, response["ETag"]):
        return response
    not_modified = HttpResponseNotModified()
    for header in _NOT_MODIFIED_HEADERS:
        if header in response:
            not_modified[header] = response[header]
    return not_modified


class ConditionalGetMixin:
    """For a DRF view: the actions named in ``conditional_actions`` answer GET and HEAD
    conditionally (``conditional_response``)."""

    conditional_actions: Collection[str] = ()

    def finalize_response(
        self, request: Any, response: HttpResponseBase, *args: Any, **kwargs: Any
    ) -> HttpResponseBase:
        response = super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]
        if getattr(self, "action", None) in self.conditional_actions:
            return conditional_response(request, response)
        return response
