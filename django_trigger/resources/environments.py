"""``client.environments``: pause, resume and regenerate the secret key of a project's
environment — routes for personal access tokens only (docs/API-ADDENDUM.md §10.4)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from django_trigger._http.paths import build_path
from django_trigger.exceptions import InvalidRequestError
from django_trigger.options import RequestOptionsLike
from django_trigger.types.operations import EnvironmentApiKey, EnvironmentPauseState

from ._base import Auth, Resource, RetrySafety, retry_safety

if TYPE_CHECKING:
    from ._base import RawTwin
    from ._typed import EnvironmentsWithRawResponse

__all__ = ["Environments"]

T = TypeVar("T")


class Environments(Resource):
    """The environment is ``project_ref``/``environment`` (else the client's), a preview
    branch the client's ``preview_branch``."""

    with_raw_response: RawTwin[EnvironmentsWithRawResponse]

    @retry_safety(RetrySafety.IDEMPOTENT, why="pausing a paused environment changes nothing")
    def pause(
        self,
        *,
        confirm: bool = False,
        project_ref: str | None = None,
        environment: str | None = None,
        request_options: RequestOptionsLike = None,
    ) -> EnvironmentPauseState:
        """Pause the environment: no run of it starts until it is resumed (runs triggered
        meanwhile wait in their queues). Needs ``confirm=True``."""
        path = self._path("pause", project_ref, environment)
        _confirmed(
            confirm,
            "environments.pause stops every run of the environment from "
            "starting until it is resumed",
        )
        return self._call(path, "pause", EnvironmentPauseState.from_api, request_options)

    @retry_safety(RetrySafety.IDEMPOTENT, why="resuming a running environment changes nothing")
    def resume(
        self,
        *,
        project_ref: str | None = None,
        environment: str | None = None,
        request_options: RequestOptionsLike = None,
    ) -> EnvironmentPauseState:
        path = self._path("resume", project_ref, environment)
        return self._call(path, "resume", EnvironmentPauseState.from_api, request_options)

    @retry_safety(
        RetrySafety.IDEMPOTENT,
        why="a retry after a lost answer regenerates again and returns the key now valid (the "
        "lost one was never seen, so nothing that works is lost)",
    )
    def regenerate_api_key(
        self,
        *,
        confirm: bool = False,
        project_ref: str | None = None,
        environment: str | None = None,
        request_options: RequestOptionsLike = None,
    ) -> EnvironmentApiKey:
        """Replace the environment's secret key and return the new one (``.api_key``, a
        ``Secret``). The old key is accepted for 24 more hours, then refused: every process
        configured with it — this Django app included, if its ``SECRET_KEY`` setting is that
        key — gets 401 from then on until it is given the new key. Needs ``confirm=True``."""
        path = self._path("regenerate-api-key", project_ref, environment)
        _confirmed(
            confirm,
            "environments.regenerate_api_key invalidates the environment's "
            "current secret key within 24 hours (every app configured with it, this one "
            "included, is then refused until given the new key)",
        )
        return self._call(path, "regenerate_api_key", EnvironmentApiKey.from_api, request_options)

    def _path(self, action: str, project_ref: str | None, environment: str | None) -> str:
        operation = f"environments.{action.replace('-', '_')}"
        ref = self._client.require_project_ref(project_ref, operation)
        env = self._client.require_environment(environment, operation)
        return build_path(
            "/api/v1/projects/{}/{}/" + action, (ref, "project_ref"), (env, "environment")
        )

    def _call(
        self, path: str, action: str, parse: Callable[[Any], T], request_options: RequestOptionsLike
    ) -> T:
        return self._request(
            "POST",
            path,
            operation=f"environments.{action}",
            auth=Auth.PERSONAL,
            parse=parse,
            request_options=request_options,
        )


def _confirmed(confirm: object, consequence: str) -> None:
    if confirm is not True:
        raise InvalidRequestError(f"{consequence}: pass confirm=True to do it")
