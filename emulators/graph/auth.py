"""Entra ID for the emulated tenant: its OpenID configuration and the client-credentials token endpoint."""

from __future__ import annotations

from urllib.parse import parse_qs

from emulators.base import Request, Response, route
from emulators.graph.errors import aad_error


class EntraId:
    """The tenant's sign-in: MSAL reads the OpenID configuration, then asks for an app-only token."""

    @route("GET", r"/([^/]+)/v2\.0/\.well-known/openid-configuration")
    def openid_configuration(self, request: Request, tenant: str) -> Response:
        base = f"{request.base_url}/{tenant}"
        return Response.json(
            200,
            {
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt"],
                "issuer": f"{request.base_url}/{self.tenant_id}/v2.0",
                "jwks_uri": f"{base}/discovery/v2.0/keys",
            },
        )

    @route("POST", r"/([^/]+)/oauth2/v2\.0/token")
    def token(self, request: Request, tenant: str) -> Response:
        form = {k: v[0] for k, v in parse_qs(request.body.decode(errors="replace")).items()}
        if tenant != self.tenant_id:
            return aad_error(400, "invalid_request", 90002, f"Tenant '{tenant}' not found.")
        if form.get("grant_type") != "client_credentials":
            return aad_error(400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type.")
        if form.get("client_id") != self.client_id:
            return aad_error(400, "unauthorized_client", 700016, "Application not found in the directory.")
        if form.get("client_secret") != self.client_secret:
            return aad_error(401, "invalid_client", 7000215, "Invalid client secret provided.")
        scopes = {f"{request.base_url}/.default", "https://graph.microsoft.com/.default"}
        if len(form.get("scope", "").split()) != 1 or form["scope"] not in scopes:
            return aad_error(
                400, "invalid_scope", 70011, f"The provided value for scope is not valid: {form.get('scope')}"
            )
        token = self.issue_token(3599)
        return Response.json(
            200, {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": token}
        )
