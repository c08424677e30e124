"""drf-spectacular hooks."""


def strip_trailing_slashes(result, generator, request, public):
    """Document ``/api/courses`` rather than ``/api/courses/``: both are served."""
    result["paths"] = {
        (path.rstrip("/") if path != "/" else path): item for path, item in result["paths"].items()
    }
    return result
