"""Security headers on every response, and no caching of what an authenticated caller sees."""

from flask import Flask, Response, current_app, request

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; script-src 'self'; style-src 'self'; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)
# Swagger UI's page configures itself in an inline script and styles itself inline; the page
# renders no user data, so allowing inline code there, and only there, risks no injection.
DOCS_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; script-src 'self' 'unsafe-inline'; "
    "style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'; "
    "base-uri 'none'"
)
ALWAYS = {
    "X-Content-Type-Options": "nosniff",
    # Order and payment addresses are capabilities: never hand them to another site.
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}
HSTS = "max-age=31536000"


def init_security_headers(app: Flask) -> None:
    """Add the headers to every response of `app`, errors included."""
    app.after_request(add_security_headers)


def add_security_headers(response: Response) -> Response:
    """Set the security headers; HSTS only over HTTPS, where a browser honours it."""
    response.headers.update(ALWAYS)
    config = current_app.config
    docs = f"{config['OPENAPI_URL_PREFIX']}/{config['OPENAPI_SWAGGER_UI_PATH']}"
    response.headers["Content-Security-Policy"] = (
        DOCS_CONTENT_SECURITY_POLICY if request.path == docs else CONTENT_SECURITY_POLICY
    )
    if request.is_secure:
        response.headers["Strict-Transport-Security"] = HSTS
    if _authenticated(config["SESSION_COOKIE_NAME"]):
        # Shared caches and the browser's history must not keep a signed-in caller's data.
        response.headers["Cache-Control"] = "no-store"
    return response


def _authenticated(session_cookie: str) -> bool:
    """Whether the request carries credentials: a bearer token or a signed-in page's cookie."""
    return "Authorization" in request.headers or session_cookie in request.cookies
