"""Signing in and out of the pages."""

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from market.accounts.services import authenticate_password
from market.core.access import ANYONE
from market.core.extensions import db
from market.core.principals import Role
from market.web import auth
from market.web.blueprint import blp, error_page
from market.web.forms import CSRF_MESSAGE, SignInForm, SignOutForm, form_status

LANDING = {
    Role.VENDOR: "web.vendor_home",
    Role.OFFICIAL: "web.dashboard",
    Role.ADMIN: "web.dashboard",
}


def _local(target: str | None) -> str | None:
    """Accept only a path on this site as where to go after signing in."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


@blp.route("/sign-in", methods=["GET", "POST"])
@auth.page_access(ANYONE)
def sign_in() -> Response | tuple[str, int] | str:
    """Sign in with a login and password; the session cookie then carries the account."""
    form = SignInForm()
    if not form.validate_on_submit():
        return render_template("web/sign_in.html", form=form), form_status(form)
    principal = authenticate_password(db.session, form.login.data or "", form.password.data or "")
    if principal is None:
        form.password.errors = ["Wrong login or password."]
        return render_template("web/sign_in.html", form=form), 401
    auth.sign_in(principal)
    return redirect(_local(request.args.get("next")) or url_for(LANDING[principal.role]))


@blp.post("/sign-out")
@auth.page_access(ANYONE)
def sign_out() -> Response | tuple[str, int]:
    """Sign out (a POST with the form's CSRF token, so no other site can sign you out)."""
    form = SignOutForm()
    if not form.validate_on_submit():
        return error_page(400, CSRF_MESSAGE)
    auth.sign_out()
    flash("You are signed out.")
    return redirect(url_for("web.home"))
