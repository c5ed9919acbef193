from django.urls import path

from workspaces import apis

urlpatterns = [
    path("members/", apis.MemberListApi.as_view(), name="api-members"),
    path("members/<int:member_id>/", apis.MemberDetailApi.as_view(), name="api-member"),
    path("invitations/", apis.InvitationListApi.as_view(), name="api-invitations"),
    path(
        "invitations/<int:invitation_id>/",
        apis.InvitationDetailApi.as_view(),
        name="api-invitation",
    ),
    path("tokens/", apis.TokenListApi.as_view(), name="api-tokens"),
    path("tokens/<int:token_id>/", apis.TokenDetailApi.as_view(), name="api-token"),
]
