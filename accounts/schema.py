"""OpenAPI description of the Clerk authentication class (drf-spectacular)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object


class ClerkAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.ClerkAuthentication"
    name = "ClerkSession"

    def get_security_definition(self, auto_schema):
        return build_bearer_security_scheme_object(
            header_name="AUTHORIZATION",
            token_prefix="Bearer",  # noqa: S106 - a scheme name, not a secret
            bearer_format="JWT",
        )
