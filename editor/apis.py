"""Config API of the IDE's test data: a user's test setting values and saved test cases.

Only those who may run tests of a function (Functions Admin on it) may read or change its
test data: it exists to be run. Encrypted values are write-only: answers mask them.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from catalog.apis import JSONValueField
from catalog.models import Function
from catalog.selectors import function_get
from editor import selectors, services
from editor.models import SavedTestCase
from runtime.services import OUTCOMES
from workspaces.api_base import WorkspaceApi

TEST_DATA_REFUSED = "Test settings and cases need Functions Admin for this function."


def _validated(serializer_class: type[serializers.Serializer], data: Any) -> Any:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class _TestDataApi(WorkspaceApi):
    def _function(self, function_id: int) -> Function:
        function = function_get(access=self.access, function_id=function_id)
        self.require(self.access.can_edit_function(function.pk), TEST_DATA_REFUSED)
        return function


class FunctionTestSettingsOutput(serializers.Serializer):
    settings = serializers.DictField(help_text="Encrypted values are masked.")


class FunctionTestSettingsApi(_TestDataApi):
    class FunctionTestSettingsInput(serializers.Serializer):
        settings = serializers.DictField(
            help_text="Values left out keep their value (encrypted ones are write-only); "
            "null clears one."
        )

    def _out(self, function: Function) -> Response:
        masked = selectors.test_settings_masked(user=self.access.user, function=function)
        return Response(FunctionTestSettingsOutput({"settings": masked}).data)

    @extend_schema(responses=FunctionTestSettingsOutput)
    def get(self, request: Request, workspace_slug: str, function_id: int) -> Response:
        return self._out(self._function(function_id))

    @extend_schema(request=FunctionTestSettingsInput, responses=FunctionTestSettingsOutput)
    def put(self, request: Request, workspace_slug: str, function_id: int) -> Response:
        function = self._function(function_id)
        data = _validated(self.FunctionTestSettingsInput, request.data)
        services.test_settings_update(
            user=self.access.user, function=function, settings=data["settings"]
        )
        return self._out(function)


class TestCaseOutputSerializer(serializers.ModelSerializer):
    __test__ = False  # not a pytest test class

    settings = serializers.SerializerMethodField(help_text="Encrypted values are masked.")
    created_by: serializers.StringRelatedField[User] = serializers.StringRelatedField()

    class Meta:
        model = SavedTestCase
        fields = [
            "id", "name", "payload", "settings", "expected_outcome", "created_by", "created_at",
        ]  # fmt: skip

    def get_settings(self, case: SavedTestCase) -> dict[str, Any]:
        return selectors.test_case_settings_masked(case=case)


class FunctionTestCaseListApi(_TestDataApi):
    class TestCaseCreateInput(serializers.Serializer):
        __test__ = False  # not a pytest test class

        name = serializers.CharField(max_length=100)
        payload = JSONValueField(help_text="An event object, or an array for onBatch.")
        settings = serializers.DictField(
            required=False,
            default=dict,
            help_text="Encrypted settings left out take your stored test values.",
        )
        expected_outcome = serializers.ChoiceField(choices=list(OUTCOMES), default="success")

    @extend_schema(responses=TestCaseOutputSerializer(many=True))
    def get(self, request: Request, workspace_slug: str, function_id: int) -> Response:
        cases = selectors.test_case_list(function=self._function(function_id))
        return self.paginated(cases, TestCaseOutputSerializer)

    @extend_schema(request=TestCaseCreateInput, responses={201: TestCaseOutputSerializer})
    def post(self, request: Request, workspace_slug: str, function_id: int) -> Response:
        function = self._function(function_id)
        data = _validated(self.TestCaseCreateInput, request.data)
        case = services.test_case_create(function=function, actor=self.access.user, **data)
        return Response(TestCaseOutputSerializer(case).data, status=status.HTTP_201_CREATED)


class FunctionTestCaseDetailApi(_TestDataApi):
    @extend_schema(responses={204: None})
    def delete(
        self, request: Request, workspace_slug: str, function_id: int, case_id: int
    ) -> Response:
        case = selectors.test_case_get(function=self._function(function_id), case_id=case_id)
        services.test_case_delete(case=case, actor=self.access.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
