from django.contrib.auth import views as auth_views
from django.urls import path

from workspaces import views
from workspaces.sign_in import ThrottledAuthenticationForm

urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="registration/login.html",
            redirect_authenticated_user=True,
            authentication_form=ThrottledAuthenticationForm,
        ),
        name="login",
    ),
    # Django's LogoutView only accepts POST, so a link or an image cannot sign anyone out.
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.home, name="home"),
    path("w/<slug:workspace_slug>/members/", views.members, name="members"),
    path("w/<slug:workspace_slug>/members/invite/", views.member_invite, name="member-invite"),
    path(
        "w/<slug:workspace_slug>/members/invitations/<int:invitation_id>/revoke/",
        views.invitation_revoke,
        name="invitation-revoke",
    ),
    path("w/<slug:workspace_slug>/members/<int:member_id>/", views.member, name="member"),
    path(
        "w/<slug:workspace_slug>/members/<int:member_id>/roles/",
        views.member_roles,
        name="member-roles",
    ),
    path(
        "w/<slug:workspace_slug>/members/<int:member_id>/remove/",
        views.member_remove,
        name="member-remove",
    ),
    path("invitations/<slug:code>/", views.invitation, name="invitation"),
    path("w/<slug:workspace_slug>/tokens/", views.tokens, name="tokens"),
    path("w/<slug:workspace_slug>/tokens/new/", views.token_create, name="token-create"),
    path(
        "w/<slug:workspace_slug>/tokens/<int:token_id>/revoke/",
        views.token_revoke,
        name="token-revoke",
    ),
]
