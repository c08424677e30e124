"""Content negotiation: DRF's, with a shortcut for what nearly every request asks."""

from __future__ import annotations

from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request


class FirstRendererNegotiation(DefaultContentNegotiation):
    """A request with no ``Accept`` header, or with ``*/*`` or the first renderer's own
    media type, and no format asked for (``?format=``, a suffix), gets the view's first
    renderer, as DRF would give it, without parsing the header (DRF parses it into media
    types and orders them on every request: a tenth of a polled route's time). Anything
    else is DRF's to decide, a 406 for what no renderer gives included."""

    def select_renderer(
        self, request: Request, renderers: list[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        if (
            renderers
            and format_suffix is None
            and self._asks_for_anything_or(request, renderers[0])
        ):
            return renderers[0], renderers[0].media_type
        return super().select_renderer(request, renderers, format_suffix)

    def _asks_for_anything_or(self, request: Request, renderer: BaseRenderer) -> bool:
        if self.settings.URL_FORMAT_OVERRIDE in request.query_params:
            return False
        accept = request.META.get("HTTP_ACCEPT")
        return accept is None or accept == "*/*" or accept == renderer.media_type
