"""Core routes: sign-in (un-namespaced names, as Django's auth views expect) and the
staff pages under the ``core:`` namespace."""

from django.urls import include, path

from throughline.core.views import account, audit, auth, custom_fields, home, jobs, settings, users

core_patterns = [
    path("account/", account.account, name="account"),
    path("account/tokens/", account.token_create, name="token_create"),
    path("account/tokens/<uuid:pk>/revoke/", account.token_revoke, name="token_revoke"),
    path("settings/", settings.organization_settings, name="settings"),
    path("settings/logo/", settings.organization_logo, name="organization_logo"),
    path("settings/custom-fields/", custom_fields.custom_field_list, name="custom_field_list"),
    path(
        "settings/custom-fields/new/", custom_fields.custom_field_create, name="custom_field_create"
    ),
    path(
        "settings/custom-fields/<int:pk>/",
        custom_fields.custom_field_edit,
        name="custom_field_edit",
    ),
    path(
        "settings/custom-fields/<int:pk>/delete/",
        custom_fields.custom_field_delete,
        name="custom_field_delete",
    ),
    path("users/", users.user_list, name="user_list"),
    path("users/new/", users.user_create, name="user_create"),
    path("users/two-factor/", users.require_two_factor, name="require_two_factor"),
    path("users/<int:pk>/", users.user_edit, name="user_edit"),
    path("users/<int:pk>/invite/", users.user_invite, name="user_invite"),
    path(
        "users/<int:pk>/reset-two-factor/",
        users.user_reset_two_factor,
        name="user_reset_two_factor",
    ),
    path("audit/", audit.audit_log, name="audit_log"),
    path(
        "audit/<str:object_type>/<str:object_id>/", audit.audit_for_object, name="audit_for_object"
    ),
    path("jobs/", jobs.failed_jobs, name="failed_jobs"),
    path("jobs/<uuid:pk>/retry/", jobs.retry_job, name="retry_job"),
]

urlpatterns = [
    path("", home.home, name="home"),
    path("login/", auth.login_view, name="login"),
    path("logout/", auth.logout_view, name="logout"),
    path("password-reset/", auth.password_reset, name="password_reset"),
    path("password-reset/sent/", auth.password_reset_done, name="password_reset_done"),
    path("reset/<uidb64>/<token>/", auth.password_reset_confirm, name="password_reset_confirm"),
    path("reset/done/", auth.password_reset_complete, name="password_reset_complete"),
    path("account/password/", auth.password_change, name="password_change"),
    path("account/password/done/", auth.password_change_done, name="password_change_done"),
    # Everything under /account/2fa/ stays reachable before the second factor is done
    # (core.middleware.TwoFactorRequiredMiddleware).
    path("account/2fa/setup/", auth.two_factor_setup, name="two_factor_setup"),
    path("account/2fa/verify/", auth.two_factor_verify, name="two_factor_verify"),
    path("account/2fa/disable/", auth.two_factor_disable, name="two_factor_disable"),
    path("", include((core_patterns, "core"))),
]
