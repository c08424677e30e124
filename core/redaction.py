"""What a credential looks like in text, so that log lines and error messages leave it out.

A safety net: no code puts a token, a key or a signed URL in a message on purpose, and this
removes what slips through anyway (a library's exception text, a URL in a traceback, a
provider's error body quoting the key it was sent).
"""

from __future__ import annotations

import re

REDACTED = "[redacted]"

_SHAPES = re.compile(
    "|".join(
        [
            # API keys and signing secrets by their prefixes: OpenAI's and Clerk's sk-/sk_,
            # Groq's gsk_, Svix's whsec_ (base64), and generic key-, api-, bearer-.
            r"\b(?:sk|gsk|key|api|bearer|whsec)[-_][A-Za-z0-9_\-*.+/=]{6,}",
            # A JWT, such as a Clerk session token: base64url parts, the first a JSON object.
            r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*",
        ]
    ),
    re.IGNORECASE,
)
# An Authorization header's credentials, whatever their shape.
_SCHEME = re.compile(r"\b(Bearer|Basic)\s+[^\s,;\"']+", re.IGNORECASE)
# A signed URL's signature and the credentials a URL may carry as query parameters (also
# SigV4's ``Signature=`` in an Authorization header): the value goes, the name stays.
_PARAMETER = re.compile(
    r"(?<![\w-])((?:x-amz-signature|x-amz-security-token|x-amz-credential|signature|sig"
    r"|token|access_token|id_token|refresh_token|api_key|apikey|client_secret|password)=)"
    r"[^&\s\"'<>#,;]+",
    re.IGNORECASE,
)


def redact(text: str, *secrets: str) -> str:
    """``text`` with each of ``secrets`` (values known to be secret, such as a configured
    API key) and anything shaped like a credential replaced by ``[redacted]``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    text = _PARAMETER.sub(rf"\1{REDACTED}", text)
    text = _SCHEME.sub(rf"\1 {REDACTED}", text)
    return _SHAPES.sub(REDACTED, text)
