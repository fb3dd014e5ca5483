"""Service account issuer discovery: /.well-known/openid-configuration and /openid/v1/jwks, from which an OIDC
relying party (a cloud's workload identity, Vault, another cluster) learns how to verify kubeshim's
service-account tokens without calling TokenReview.

As upstream, both are read under RBAC: the default `system:service-account-issuer-discovery` role lets every
service account read them; anyone else needs a role with these nonResourceURLs (or system:masters).
"""
from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shim.machinery import errors
from shim.machinery.errors import StatusError
from shim.server.resources import ApiContext, status_response
from shim.server.satokens import CONFIG_PATH, JWKS_PATH, MAX_AGE, TokenAuthority

JWKS_TYPE = "application/jwk-set+json"


def routes(ctx: ApiContext) -> list[Route]:
    """The two documents; none when this server issues no service-account tokens."""
    accounts = ctx.authenticator.service_accounts
    if accounts is None:
        return []
    authority = accounts.authority

    def endpoint(document: Callable[[TokenAuthority], bytes], media_type: str) -> Callable[..., object]:
        async def serve(request: Request) -> Response:
            try:
                user = ctx.authenticator.authenticate(request)
                if not ctx.authorizer.allows_path(user, "get", request.url.path):
                    raise errors.forbidden("", "", f'User "{user.name}" cannot get path "{request.url.path}"')
            except StatusError as err:
                return status_response(err)
            return Response(document(authority), media_type=media_type,
                            headers={"Cache-Control": f"public, max-age={MAX_AGE}"})
        return serve

    config = endpoint(TokenAuthority.openid_configuration, "application/json")
    keys = endpoint(TokenAuthority.jwks, JWKS_TYPE)
    return [Route(CONFIG_PATH, config), Route(CONFIG_PATH + "/", config),
            Route(JWKS_PATH, keys), Route(JWKS_PATH + "/", keys)]
