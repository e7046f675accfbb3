"""``client.projects``: what a credential reaches (API.md §6.9)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django_trigger._http.paths import build_path
from django_trigger.options import RequestOptionsLike
from django_trigger.types import ProjectEnvironment

from ._base import Auth, Resource, RetrySafety, retry_safety

if TYPE_CHECKING:
    from ._base import RawTwin
    from ._typed import ProjectsWithRawResponse

__all__ = ["Projects"]


class Projects(Resource):
    with_raw_response: RawTwin[ProjectsWithRawResponse]

    @retry_safety(RetrySafety.READ, why="a read")
    def environment(
        self,
        *,
        project_ref: str | None = None,
        environment: str | None = None,
        request_options: RequestOptionsLike = None,
    ) -> ProjectEnvironment:
        """The project and environment this client's credential reaches
        (``GET /api/v1/projects/{ref}/{env}``): a secret key of another project is refused
        (400), a personal access token gets 404 for a project it cannot see or an environment
        (or preview branch) that does not exist. The answer's secret key is not kept."""
        client = self._client
        ref = client.require_project_ref(project_ref, "projects.environment")
        env = client.require_environment(environment, "projects.environment")
        return self._request(
            "GET",
            build_path("/api/v1/projects/{}/{}", (ref, "project_ref"), (env, "environment")),
            operation="projects.environment",
            auth=Auth.EITHER,
            request_options=request_options,
            parse=_without_key,
        )


def _without_key(body: Any) -> ProjectEnvironment:
    if isinstance(body, dict):
        body = {key: value for key, value in body.items() if key != "apiKey"}
    return ProjectEnvironment.from_api(body)
