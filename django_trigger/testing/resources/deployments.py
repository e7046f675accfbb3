"""Deployments, their workers, and the task catalogue the workers declare (API.md §6.7).

Each deployed environment (staging, production, preview branches; development environments run
dev workers and have no deployments) holds one ``DEPLOYED`` deployment per weekly worker version
— the same versions the seeded runs carry (``runs_seed.weekly_versions``) — plus a ``FAILED``
and an in-progress (``BUILDING``) one. The newest ``DEPLOYED`` deployment is promoted as
``current``. Staging deployments are ``UNMANAGED`` (a self-hosted worker group), the others
``MANAGED``, so ``GET /api/v1/deployments/latest`` finds one only in staging, as on a project
that self-hosts its staging workers.

Task catalogue: every project's workers declare the tasks the seeded runs use
(``runs_seed.TASKS``); ``runs_seed.SCHEDULED_TASK`` is a scheduled task (``schedules.task``),
the others are standard tasks. Schedules validate against it (``Task with identifier … not
found in project.`` / ``… is not a scheduled task.``), and ``Emulator.tasks`` /
``Emulator.scheduled_tasks`` expose it to tests.

    with emu.state.lock:
        store = emu.state.deployments
        store.current_for(env)                          # the promoted deployment (or None)
        store.add(env, "20260318.3", status="DEPLOYED")  # a new deployment, for a test
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..world import Environment, format_date
from .runs_seed import SCHEDULED_TASK, TASKS, weekly_versions

if TYPE_CHECKING:  # pragma: no cover
    from ..world import World

__all__ = [
    "LIST_STATUSES",
    "Deployment",
    "DeploymentError",
    "DeploymentStore",
    "Worker",
    "WorkerTask",
    "compare_versions",
    "seed_deployments",
    "task_catalogue",
]

#: The statuses the list filter (and the SDK's list schema) accept; the database also has
#: ``INSTALLING``.
LIST_STATUSES = ("PENDING", "BUILDING", "DEPLOYING", "DEPLOYED", "FAILED", "CANCELED", "TIMED_OUT")


def task_catalogue() -> dict[str, str]:
    """Task identifier -> trigger source (``SCHEDULED`` or ``STANDARD``), in declaration order."""
    return {task: "SCHEDULED" if task == SCHEDULED_TASK else "STANDARD" for task in TASKS}


def compare_versions(a: str, b: str) -> int:
    """``compareDeploymentVersions``: the date part as a string, then the counter as a number."""
    date_a, _, num_a = a.partition(".")
    date_b, _, num_b = b.partition(".")
    if date_a != date_b:
        return -1 if date_a < date_b else 1
    try:
        na, nb = float(num_a), float(num_b)
    except ValueError:
        return 0
    return (na > nb) - (na < nb)


class DeploymentError(Exception):
    """A promotion the server refuses (answered 400 with this message)."""


@dataclass
class WorkerTask:
    id: str
    slug: str
    file_path: str
    export_name: str
    trigger_source: str = "STANDARD"


@dataclass
class Worker:
    id: str
    version: str
    tasks: list[WorkerTask] = field(default_factory=list)


@dataclass
class Deployment:
    friendly_id: str
    environment_id: str
    version: str
    short_code: str
    content_hash: str
    status: str
    created_at: dt.datetime
    seq: int  # creation order; the list is ordered by the (time-ordered) internal id
    type: str = "MANAGED"  # or UNMANAGED
    deployed_at: dt.datetime | None = None
    runtime: str | None = "node"
    runtime_version: str | None = "22.12.0"
    git: dict[str, Any] | None = None
    error_data: dict[str, Any] | None = None
    image_reference: str | None = None
    image_platform: str = "linux/amd64"
    commit_sha: str | None = None
    canceled_reason: str | None = None
    worker: Worker | None = None

    @property
    def sort_key(self) -> tuple[dt.datetime, int]:
        return (self.created_at, self.seq)

    def list_item(self) -> dict[str, Any]:
        """The list / current item: ``deployedAt``, ``git`` and ``error`` are omitted when empty
        (the SDK's schema takes neither ``null`` nor an empty value there)."""
        item: dict[str, Any] = {
            "id": self.friendly_id,
            "createdAt": format_date(self.created_at),
            "shortCode": self.short_code,
            "version": self.version,
            "runtime": self.runtime,
            "runtimeVersion": self.runtime_version,
            "status": self.status,
        }
        if self.deployed_at is not None:
            item["deployedAt"] = format_date(self.deployed_at)
        if self.git:
            item["git"] = dict(self.git)
        if self.error_data:
            item["error"] = dict(self.error_data)
        return item

    def detail(self) -> dict[str, Any]:
        """``GET /api/v1/deployments/{id}``: nullable columns go out as ``null``."""
        data: dict[str, Any] = {
            "id": self.friendly_id,
            "status": self.status,
            "contentHash": self.content_hash,
            "shortCode": self.short_code,
            "version": self.version,
            "imageReference": self.image_reference,
            "imagePlatform": self.image_platform,
            "commitSHA": self.commit_sha,
            "externalBuildData": None,
            "errorData": dict(self.error_data) if self.error_data else None,
            "canceledReason": self.canceled_reason,
        }
        if self.worker is not None:
            data["worker"] = {
                "id": self.worker.id,
                "version": self.worker.version,
                "tasks": [
                    {
                        "id": t.id,
                        "slug": t.slug,
                        "filePath": t.file_path,
                        "exportName": t.export_name,
                    }
                    for t in self.worker.tasks
                ],
            }
        return data

    def latest(self) -> dict[str, Any]:
        """``GET /api/v1/deployments/latest``."""
        return {
            "id": self.friendly_id,
            "status": self.status,
            "contentHash": self.content_hash,
            "shortCode": self.short_code,
            "version": self.version,
            "imageReference": self.image_reference,
            "errorData": dict(self.error_data) if self.error_data else None,
        }


def _export_name(slug: str) -> str:
    head, *rest = slug.split("-")
    return head + "".join(part.capitalize() for part in rest) + "Task"


class DeploymentStore:
    def __init__(self, world: World) -> None:
        self.world = world
        self.by_id: dict[str, Deployment] = {}
        self._current: dict[str, str] = {}  # environment id -> friendly id (label "current")
        self._seq = 0  # creation order (an int: the world is pickled for reset)
        # Project ref -> {task identifier: trigger source}.
        self.tasks: dict[str, dict[str, str]] = {}

    # -- tasks -----------------------------------------------------------------------------------

    def tasks_of(self, project_ref: str) -> dict[str, str]:
        return self.tasks.get(project_ref, {})

    # -- deployments -----------------------------------------------------------------------------

    def add(
        self,
        env: Environment,
        version: str,
        *,
        status: str = "DEPLOYED",
        created_at: dt.datetime | None = None,
        deployed_at: dt.datetime | None = None,
        type: str = "MANAGED",
        **fields: Any,
    ) -> Deployment:
        """Create a deployment (with a worker declaring the project's tasks once it got past the
        build). Does not promote it."""
        ids = self.world.ids
        created = created_at or self.world.now()
        digest = hashlib.sha256(f"{env.id}:{version}".encode()).hexdigest()
        worker = None
        if status in ("DEPLOYING", "DEPLOYED"):
            worker = Worker(
                ids.friendly("worker"),
                version,
                [
                    WorkerTask(
                        ids.friendly("task"),
                        slug,
                        f"src/trigger/{slug}.ts",
                        _export_name(slug),
                        source,
                    )
                    for slug, source in self.tasks_of(env.project_ref).items()
                ],
            )
        if status == "DEPLOYED" and deployed_at is None:
            deployed_at = created + dt.timedelta(minutes=3)
        self._seq += 1
        deployment = Deployment(
            friendly_id=ids.friendly("deployment"),
            environment_id=env.id,
            version=version,
            short_code=ids.chars("deployment-shortcode", 8),
            content_hash=digest[:40],
            status=status,
            created_at=created,
            seq=self._seq,
            type=type,
            deployed_at=deployed_at,
            worker=worker,
            image_reference=(
                f"registry.trigger.dev/{env.project_ref}:{version}.{env.slug}"
                if status not in ("PENDING", "BUILDING", "FAILED", "CANCELED", "TIMED_OUT")
                else None
            ),
            **fields,
        )
        self.by_id[deployment.friendly_id] = deployment
        return deployment

    def in_environment(self, env_id: str) -> list[Deployment]:
        """Newest first (the list's ``id desc``)."""
        found = [d for d in self.by_id.values() if d.environment_id == env_id]
        return sorted(found, key=lambda d: d.sort_key, reverse=True)

    def get(self, env_id: str, friendly_id: str) -> Deployment | None:
        deployment = self.by_id.get(friendly_id)
        return deployment if deployment and deployment.environment_id == env_id else None

    def by_version(self, env_id: str, version: str) -> Deployment | None:
        for deployment in self.by_id.values():
            if deployment.environment_id == env_id and deployment.version == version:
                return deployment
        return None

    def current_for(self, env: Environment) -> Deployment | None:
        friendly_id = self._current.get(env.id)
        return self.by_id.get(friendly_id) if friendly_id else None

    def latest_unmanaged(self, env: Environment) -> Deployment | None:
        for deployment in self.in_environment(env.id):
            if deployment.type == "UNMANAGED":
                return deployment
        return None

    def set_current(self, deployment: Deployment) -> None:
        self._current[deployment.environment_id] = deployment.friendly_id

    def promote(self, deployment: Deployment, *, allow_rollbacks: bool = False) -> None:
        """``ChangeCurrentDeploymentService`` (direction ``promote``)."""
        if deployment.worker is None:
            raise DeploymentError(
                "Deployment is not associated with a worker and cannot be promoted."
            )
        if deployment.status != "DEPLOYED":
            raise DeploymentError("Deployment must be in the DEPLOYED state to be promoted.")
        current = self.by_id.get(self._current.get(deployment.environment_id, ""))
        if current is not None:
            if current is deployment:
                raise DeploymentError("Deployment is already the current deployment.")
            if not allow_rollbacks and compare_versions(current.version, deployment.version) >= 0:
                raise DeploymentError(
                    "Cannot promote a deployment that is older than the current deployment."
                )
        self.set_current(deployment)


# -- seed ------------------------------------------------------------------------------------------

_MESSAGES = (
    "Fix retry backoff for webhooks",
    "Add invoice PDF export",
    "Bump dependencies",
    "Handle empty CRM payloads",
    "Resize images in parallel",
    "Nightly cleanup: skip archived tenants",
    "Refactor email templates",
)


def _git(rng: random.Random, branch: str) -> dict[str, Any]:
    sha = "".join(rng.choice("0123456789abcdef") for _ in range(40))
    return {
        "commitSha": sha,
        "commitRef": branch,
        "commitMessage": rng.choice(_MESSAGES),
        "commitAuthorName": rng.choice(("Alice Example", "Bob Example")),
        "remoteUrl": "https://github.com/acme/web-app.git",
        "dirty": False,
    }


def _seed_environment(
    world: World, env: Environment, rng: random.Random, weeks: int, unmanaged: bool
) -> None:
    store: DeploymentStore = world.deployments
    kind = "UNMANAGED" if unmanaged else "MANAGED"
    branch = env.branch_name or "main"
    versions = weekly_versions(world.seeded_at, weeks)
    current = None
    for index, (deployed_at, version) in enumerate(versions):
        git = _git(rng, branch) if index else None  # the first one was deployed without git
        current = store.add(
            env,
            version,
            status="DEPLOYED",
            type=kind,
            created_at=deployed_at - dt.timedelta(minutes=rng.randint(2, 6)),
            deployed_at=deployed_at,
            git=git,
            commit_sha=git["commitSha"] if git else None,
        )
    if current is not None:
        store.set_current(current)
    last_at, last_version = versions[-1]
    date, _, counter = last_version.partition(".")
    failed_at = last_at + dt.timedelta(hours=2)
    store.add(
        env,
        f"{date}.{int(counter) + 1}",
        status="FAILED",
        type=kind,
        created_at=failed_at,
        git=_git(rng, branch),
        runtime_version=None,
        error_data={
            "name": "BuildError",
            "message": 'Could not resolve "@acme/shared"',
            "stderr": '✘ [ERROR] Could not resolve "@acme/shared"\n',
        },
    )
    building_at = max(
        world.seeded_at - dt.timedelta(minutes=4), failed_at + dt.timedelta(minutes=1)
    )
    today = building_at.strftime("%Y%m%d")
    version = f"{today}.1" if today != date else f"{date}.{int(counter) + 2}"
    store.add(
        env, version, status="BUILDING", type=kind, created_at=building_at, git=_git(rng, branch)
    )


def seed_deployments(world: World, rng: random.Random) -> None:
    store: DeploymentStore = world.deployments
    for project in world.projects.values():
        store.tasks[project.ref] = task_catalogue()
    for project in (world.default_project, world.second_project):
        for env in world.project_environments(project.ref):
            if env.type == "DEVELOPMENT" or (env.type == "PREVIEW" and env.parent_id is None):
                continue  # dev workers are not deployed; the preview parent runs nothing
            if project is world.second_project and env.type != "PRODUCTION":
                continue
            weeks = 2 if env.branch_name else 6
            _seed_environment(
                world,
                env,
                random.Random(f"{world.seed}:deployments:{env.id}"),
                weeks,
                unmanaged=env.type == "STAGING",
            )
    _ = rng  # per-environment generators keep environments independent of each other
