"""``client.deployments``: deployed versions of the project's tasks (API.md §6.7)."""

from __future__ import annotations

from collections.abc import Generator
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from django_trigger._http.paths import build_path
from django_trigger.exceptions import ApiError, InvalidRequestError
from django_trigger.options import RequestOptionsLike
from django_trigger.pagination import CursorPage
from django_trigger.types import Deployment, DeploymentListItem, PromotedDeployment

from ._base import (
    Resource,
    RetrySafety,
    cursor_params,
    flow,
    period_filter,
    retry_safety,
)

if TYPE_CHECKING:
    from ._base import RawTwin
    from ._typed import DeploymentsWithRawResponse

__all__ = ["DEPLOYMENT_STATUSES", "Deployments"]

DEPLOYMENT_STATUSES = (
    "PENDING",
    "BUILDING",
    "DEPLOYING",
    "DEPLOYED",
    "FAILED",
    "CANCELED",
    "TIMED_OUT",
)
DeploymentStatus = Literal[
    "PENDING", "BUILDING", "DEPLOYING", "DEPLOYED", "FAILED", "CANCELED", "TIMED_OUT"
]


class Deployments(Resource):
    with_raw_response: RawTwin[DeploymentsWithRawResponse]

    @retry_safety(RetrySafety.READ, why="a read")
    def list(
        self,
        *,
        status: DeploymentStatus | None = None,
        period: str | None = None,
        from_: datetime | None = None,
        to: datetime | None = None,
        limit: int | None = None,
        after: str | None = None,
        request_options: RequestOptionsLike = None,
    ) -> CursorPage[DeploymentListItem]:
        """Deployments, newest first (forward-only pages; ``limit`` 5–100, default 100)."""
        if status is not None and status not in DEPLOYMENT_STATUSES:
            raise InvalidRequestError(
                f"unknown deployment status {status!r}; expected: {', '.join(DEPLOYMENT_STATUSES)}"
            )
        params: dict[str, Any] = {
            "status": status,
            "period": period_filter(period),
            "from": _iso(from_, "from_"),
            "to": _iso(to, "to"),
            **cursor_params(limit, after, None),
        }
        return self._cursor_page(
            "/api/v1/deployments",
            operation="deployments.list",
            item=DeploymentListItem.from_api,
            params=params,
            request_options=request_options,
        )

    @retry_safety(RetrySafety.READ, why="a read")
    def current(self, *, request_options: RequestOptionsLike = None) -> DeploymentListItem:
        """The deployment currently promoted in this environment."""
        return self._request(
            "GET",
            "/api/v1/deployments/current",
            operation="deployments.current",
            parse=DeploymentListItem.from_api,
            request_options=request_options,
        )

    @retry_safety(RetrySafety.READ, why="a read")
    def retrieve(
        self, deployment_id: str, *, request_options: RequestOptionsLike = None
    ) -> Deployment:
        return self._request(
            "GET",
            build_path("/api/v1/deployments/{}", (deployment_id, "deployment")),
            operation="deployments.retrieve",
            parse=Deployment.from_api,
            request_options=request_options,
        )

    @retry_safety(RetrySafety.READ, why="a read")
    def latest(self, *, request_options: RequestOptionsLike = None) -> Deployment:
        return self._request(
            "GET",
            "/api/v1/deployments/latest",
            operation="deployments.latest",
            parse=Deployment.from_api,
            request_options=request_options,
        )

    @retry_safety(
        RetrySafety.VERIFIED,
        why="a retry answered 'already the current deployment' after a lost answer means done: "
        "the current deployment is read back",
    )
    @flow
    def promote(
        self,
        version: str,
        *,
        allow_rollbacks: bool = False,
        request_options: RequestOptionsLike = None,
    ) -> Generator[Any, Any, PromotedDeployment]:
        """Make ``version`` the current deployment."""
        try:
            return (
                yield self._request(
                    "POST",
                    build_path("/api/v1/deployments/{}/promote", (version, "version")),
                    operation="deployments.promote",
                    params={"allowRollbacks": "true"} if allow_rollbacks else None,
                    parse=PromotedDeployment.from_api,
                    request_options=request_options,
                )
            )
        except ApiError as exc:
            if not self._done_before(exc, 400, "already the current deployment"):
                raise
            current = yield self.current(request_options=request_options)
            if current.version != version:
                raise
            return PromotedDeployment.from_api(
                {"id": current.id, "version": current.version, "shortCode": current.short_code}
            )


def _iso(value: datetime | None, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise InvalidRequestError(f"{name} must be an aware datetime")
    return value.isoformat()
