"""The emulator's in-memory world: organisations, projects, environments, keys, users, the
emulated clock, deterministic ids, and the per-resource stores that handler modules add.

Everything is derived from one integer seed, so two emulators with the same seed (and the same
clock) hold the same keys, ids and seeded data. All reads and writes of shared state happen under
``world.lock`` (a re-entrant lock): handlers run on many server threads at once.

    world = emu.state
    with world.lock:
        env = world.environment_for_key(emu.secret_key)
        run = world.runs.get("run_...")

Per-resource stores are attributes: ``world.runs``, ``world.batches``, ``world.bulk_actions``,
and whatever other handler modules declare in their ``STORES`` (see ``app.py``).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import pickle
import random
import string
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ENV_SLUGS",
    "ApiKey",
    "Clock",
    "Environment",
    "IdFactory",
    "Organization",
    "Project",
    "User",
    "World",
    "format_date",
    "parse_date",
]

UTC = dt.timezone.utc
ALNUM = string.ascii_letters + string.digits
LOWER_ALNUM = string.ascii_lowercase + string.digits
# The real server's new-style internal ids are 26 chars of [0-9a-v]; legacy ones are cuids.
ID_ALPHABET = "0123456789abcdefghijklmnopqrstuv"

# Environment type -> stored slug (apps/webapp/app/models/api-key.server.ts envSlug) and the
# secret-key prefix (apps/webapp/app/utils/apiKeys.ts).
ENV_SLUGS = {"DEVELOPMENT": "dev", "STAGING": "stg", "PRODUCTION": "prod", "PREVIEW": "preview"}
KEY_PREFIXES = {
    "DEVELOPMENT": "tr_dev_",
    "STAGING": "tr_stg_",
    "PRODUCTION": "tr_prod_",
    "PREVIEW": "tr_preview_",
}
# What users call the environments (and what ``Emulator.secret_keys`` is keyed by).
PUBLIC_SLUGS = {
    "DEVELOPMENT": "dev",
    "STAGING": "staging",
    "PRODUCTION": "prod",
    "PREVIEW": "preview",
}
ENV_TITLES = {
    "DEVELOPMENT": "Development",
    "STAGING": "Staging",
    "PRODUCTION": "Production",
    "PREVIEW": "Preview",
}


@functools.lru_cache(maxsize=131_072)  # list pages format the same dates over and over
def format_date(value: dt.datetime) -> str:
    """ISO 8601 UTC with milliseconds and ``Z``, as ``JSON.stringify(new Date())`` writes it."""
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    # isoformat() is several times faster than strftime(); list pages format thousands.
    return value.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def parse_date(value: str | int | float) -> dt.datetime | None:
    """Parse what the server's ``CoercedDate`` accepts: epoch milliseconds (number or numeric
    string) or an ISO date. ``None`` when unparsable."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        try:
            return dt.datetime.fromtimestamp(value / 1000, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    text = str(value).strip()
    if not text:
        return None
    try:
        return parse_date(float(text))
    except ValueError:
        pass
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def to_ms(value: dt.datetime) -> int:
    return int(value.timestamp() * 1000)


class Clock:
    """The emulator's notion of "now": real UTC time, or frozen at an instant, plus an offset
    that tests move with :meth:`advance` (e.g. to expire idempotency keys after 24 h)."""

    def __init__(self, frozen_at: dt.datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._initial = frozen_at.astimezone(UTC) if frozen_at else None
        self._frozen_at = self._initial
        self._offset = dt.timedelta(0)

    def now(self) -> dt.datetime:
        with self._lock:
            base = self._frozen_at or dt.datetime.now(UTC)
            value = base + self._offset
        # Millisecond precision, as every date the API returns.
        return value.replace(microsecond=value.microsecond // 1000 * 1000)

    def now_ms(self) -> int:
        return to_ms(self.now())

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += dt.timedelta(seconds=seconds)

    def freeze(self, at: dt.datetime | None = None) -> None:
        with self._lock:
            self._frozen_at = (at or dt.datetime.now(UTC)).astimezone(UTC)
            self._offset = dt.timedelta(0)

    def unfreeze(self) -> None:
        with self._lock:
            self._frozen_at = None

    def reset(self) -> None:
        """Back to how it was built: no offset, frozen again if it started frozen."""
        with self._lock:
            self._frozen_at = self._initial
            self._offset = dt.timedelta(0)

    @property
    def frozen(self) -> bool:
        return self._frozen_at is not None


class IdFactory:
    """Deterministic ids and tokens from the world's seed (one stream per purpose, so adding a
    resource type never changes the ids of another)."""

    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._streams: dict[str, random.Random] = {}
        self._lock = threading.Lock()
        # Whether a stream was used since the world's snapshot (drawing an id is a write).
        self.drawn = False

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def rng(self, purpose: str) -> random.Random:
        with self._lock:
            self.drawn = True
            stream = self._streams.get(purpose)
            if stream is None:
                stream = self._streams[purpose] = random.Random(f"{self._seed}:{purpose}")
            return stream

    def chars(self, purpose: str, length: int, alphabet: str = LOWER_ALNUM) -> str:
        """``length`` times ``rng.choice(alphabet)``, drawn as ``random.choice`` draws them (the
        same ids as ever) at half the cost: seeding draws some 20,000 characters."""
        getrandbits, size = self.rng(purpose).getrandbits, len(alphabet)
        bits = size.bit_length()
        picked = []
        with self._lock:
            for _ in range(length):
                index = getrandbits(bits)
                while index >= size:
                    index = getrandbits(bits)
                picked.append(alphabet[index])
        return "".join(picked)

    def internal(self, purpose: str = "internal") -> str:
        """A 26-char lowercase ``[0-9a-v]`` internal id (the real server's new id format)."""
        return self.chars(purpose, 26, ID_ALPHABET)

    def friendly(self, prefix: str, purpose: str | None = None) -> str:
        """``<prefix>_<internal id>``, e.g. ``run_…``, ``batch_…``, ``bulk_…``."""
        return f"{prefix}_{self.internal(purpose or prefix)}"

    def cuid(self, purpose: str = "cuid") -> str:
        """A 25-char ``c…`` id as the database uses for environments, projects, users."""
        return "c" + self.chars(purpose, 24)


@dataclass
class Organization:
    id: str
    slug: str
    title: str


@dataclass
class User:
    id: str
    name: str
    display_name: str
    org_ids: list[str]
    personal_access_tokens: list[str] = field(default_factory=list)


@dataclass
class Project:
    id: str
    ref: str  # the external ref, proj_…
    name: str
    slug: str
    org_id: str
    engine: str = "V2"


@dataclass
class Environment:
    id: str
    project_ref: str
    type: str  # DEVELOPMENT | STAGING | PRODUCTION | PREVIEW
    api_key: str  # the root secret key
    shortcode: str
    owner_user_id: str | None = None  # dev environments belong to one org member
    parent_id: str | None = None  # branch environments hang under a parent
    branch_name: str | None = None
    archived: bool = False

    @property
    def slug(self) -> str:
        """The stored slug: ``dev``, ``stg``, ``prod``, ``preview``."""
        return ENV_SLUGS[self.type]

    @property
    def public_slug(self) -> str:
        return PUBLIC_SLUGS[self.type]

    @property
    def title(self) -> str:
        return self.branch_name or ENV_TITLES[self.type]

    @property
    def is_branchable(self) -> bool:
        return self.type in ("PREVIEW", "DEVELOPMENT") and self.parent_id is None


@dataclass
class ApiKey:
    """A secret key. Root keys (``tr_dev_…``) are unrestricted; additional keys
    (``tr_dev_sk_…``) may be restricted to ``scopes`` (e.g. ``{"read:runs", "envvars"}``)."""

    token: str
    environment_id: str
    root: bool = True
    scopes: frozenset[str] | None = None  # None = unrestricted
    # A root key replaced by regenerate-api-key keeps working until then (24 h grace).
    revoked_until: dt.datetime | None = None

    @property
    def restricted(self) -> bool:
        return self.scopes is not None


StoreFactory = Callable[["World"], Any]

# A world whose clock runs in real time keeps reusing its snapshot this long; after that
# :meth:`World.reset` reseeds, so seeded data stays relative to "now" (runs of the last minutes,
# delays in the future) as in a world built just now.
SNAPSHOT_MAX_AGE = dt.timedelta(seconds=5)


_restoring = threading.local()  # .world: the world a snapshot is being restored into
# Snapshots by build arguments (and seeding instant): emulators built alike (one per test class,
# say) copy a world seeded before instead of seeding again. With a real-time clock, only one
# seeded less than ``SNAPSHOT_MAX_AGE`` ago, the same tolerance as :meth:`World.reset`.
_SNAPSHOTS: dict[tuple[Any, ...], tuple[bytes, dt.datetime]] = {}
_SNAPSHOTS_KEPT = 8


def _restoring_world() -> World:
    world: World = _restoring.world
    return world


class World:
    """The whole emulated tenant space. Build it with :meth:`build`; :meth:`reset` brings it
    back, in place, to the freshly seeded state (the world object itself stays the same; stores
    are new objects).

    The seeded state is snapshotted once after :meth:`build` (pickled: several times faster to
    restore than ``copy.deepcopy``, and faster than reseeding). Anything that may have
    changed it marks the world dirty (:meth:`mark_dirty`: the app does it for every request
    that is not a GET, stores for their time-based transitions, the id factory when an id is
    drawn, ``Emulator.state`` when a test reaches in), and :meth:`reset` restores the snapshot
    only then.
    """

    def __reduce__(self) -> tuple[Any, ...]:
        # Stores keep a back reference to their world: in a snapshot it stands for the world
        # the snapshot is restored into (a plain pickle: no per-object hook, so it is fast).
        return (_restoring_world, ())

    # Options kept across reset(), set by Emulator (the handlers read them with getattr).
    lifecycle: Any
    realtime_hold: float
    stream_wait_cap: float | None

    # Configuration and shared objects; everything else in ``__dict__`` is seeded state.
    _NOT_STATE = frozenset(
        {
            "lock",
            "seed",
            "run_count",
            "clock",
            "_secret_key",
            "_access_token",
            "_project_ref",
            "_store_factories",
            "_seeders",
            "_snapshot",
            "_dirty",
            "lifecycle",
            "realtime_hold",
            "stream_wait_cap",
        }
    )

    def __init__(
        self,
        seed: int = 1,
        *,
        runs: int = 300,
        secret_key: str | None = None,
        access_token: str | None = None,
        project_ref: str | None = None,
        clock: Clock | None = None,
        store_factories: Iterable[tuple[str, StoreFactory]] = (),
        seeders: Iterable[tuple[str, Callable[[World, random.Random], None]]] = (),
    ) -> None:
        self.lock = threading.RLock()
        self.seed = seed
        self.run_count = runs
        self.clock = clock or Clock()
        self._secret_key = secret_key
        self._access_token = access_token
        self._project_ref = project_ref
        self._store_factories = list(store_factories)
        self._seeders = list(seeders)
        self._snapshot = b""
        self._dirty = False
        self.build()

    # -- lifecycle -------------------------------------------------------------------------

    def build(self) -> None:
        """(Re)create tenants, keys and stores from the seed, run every seeder, and snapshot
        the result for :meth:`reset`. A world already built with the same arguments is copied
        from its snapshot instead (see ``_SNAPSHOTS``)."""
        with self.lock:
            key = self._snapshot_key()
            shared = _SNAPSHOTS.get(key)
            if shared is not None and self._seeded_recently(shared[1]):
                self._snapshot = shared[0]
                self._restore()
                return
            self.ids = IdFactory(self.seed)
            self.organizations: dict[str, Organization] = {}
            self.users: dict[str, User] = {}
            self.projects: dict[str, Project] = {}  # by ref
            self.environments: dict[str, Environment] = {}  # by id
            self.api_keys: dict[str, ApiKey] = {}  # by token
            self.personal_access_tokens: dict[str, str] = {}  # token -> user id
            self.revoked_tokens: set[str] = set()
            self.stores: dict[str, Any] = {}
            # The moment seeded data is relative to ("now" at build time).
            self.seeded_at = self.clock.now()
            self._build_tenants()
            for name, factory in self._store_factories:
                self.stores[name] = factory(self)
            for name, seeder in self._seeders:
                seeder(self, random.Random(f"{self.seed}:seed:{name}"))
            self.ids.drawn = False
            self._snapshot = pickle.dumps(self._state(), protocol=pickle.HIGHEST_PROTOCOL)
            self._dirty = False
            _SNAPSHOTS.pop(key, None)
            while len(_SNAPSHOTS) >= _SNAPSHOTS_KEPT:
                _SNAPSHOTS.pop(next(iter(_SNAPSHOTS)))
            _SNAPSHOTS[key] = (self._snapshot, self.seeded_at)

    def _snapshot_key(self) -> tuple[Any, ...]:
        """Everything a build depends on (the instant only when the clock is frozen)."""
        return (
            self.seed,
            self.run_count,
            self._secret_key,
            self._access_token,
            self._project_ref,
            self.clock.now() if self.clock.frozen else None,
            tuple((name, id(f)) for name, f in self._store_factories),
            tuple((name, id(f)) for name, f in self._seeders),
        )

    def _seeded_recently(self, seeded_at: dt.datetime) -> bool:
        """Whether data seeded at ``seeded_at`` is what seeding now would give."""
        now = self.clock.now()
        if self.clock.frozen:
            return now == seeded_at
        return dt.timedelta(0) <= now - seeded_at < SNAPSHOT_MAX_AGE

    def reset(self) -> None:
        """Back to the freshly seeded state, exactly as a new world with the same seed and
        clock: nothing to do when nothing changed since the last reset, the snapshot restored
        when something did, a full reseed when the clock is no longer where the snapshot was
        seeded (a frozen clock moved, or a real-time one older than ``SNAPSHOT_MAX_AGE``)."""
        with self.lock:
            if not self._seeded_recently(self.seeded_at):
                self.build()
            elif self.dirty:
                self._restore()

    def _restore(self) -> None:
        _restoring.world = self
        try:
            state = pickle.loads(self._snapshot)  # noqa: S301 (our own bytes)
        finally:
            _restoring.world = None
        for name in [name for name in self.__dict__ if name not in self._NOT_STATE]:
            del self.__dict__[name]  # attributes added since the snapshot go too
        self.__dict__.update(state)
        self._dirty = False

    def mark_dirty(self) -> None:
        """Record that the state may differ from the snapshot (:meth:`reset` restores it)."""
        self._dirty = True

    @property
    def dirty(self) -> bool:
        return self._dirty or self.ids.drawn

    def _state(self) -> dict[str, Any]:
        return {name: value for name, value in self.__dict__.items() if name not in self._NOT_STATE}

    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails: expose stores as attributes (world.runs).
        stores = self.__dict__.get("stores")
        if stores is not None and name in stores:
            return stores[name]
        raise AttributeError(f"World has no attribute or store {name!r}")

    def now(self) -> dt.datetime:
        return self.clock.now()

    # -- tenants -----------------------------------------------------------------------------

    def _token(self, prefix: str, purpose: str, length: int = 24) -> str:
        return prefix + self.ids.chars(purpose, length, ALNUM)

    def _build_tenants(self) -> None:
        acme = self.add_organization("acme", "Acme Inc")
        other = self.add_organization("globex", "Globex Corporation")
        alice = self.add_user("alice", "Alice Example", [acme.id], token=self._access_token)
        self.add_user("bob", "Bob Example", [acme.id])
        self.add_user("carol", "Carol Example", [other.id])

        self.default_project = self.add_project(
            acme,
            "Web App",
            ref=self._project_ref,
            dev_owners=["alice", "bob"],
            dev_key=self._secret_key,
            preview_branches=["feature-login", "fix/checkout"],
        )
        self.second_project = self.add_project(acme, "Data Pipeline", dev_owners=["alice"])
        self.foreign_project = self.add_project(other, "Globex Site", dev_owners=["carol"])
        self.default_user = alice

    def add_organization(self, slug: str, title: str) -> Organization:
        org = Organization(id=self.ids.cuid("org"), slug=slug, title=title)
        self.organizations[org.id] = org
        return org

    def add_user(
        self, name: str, display_name: str, org_ids: list[str], token: str | None = None
    ) -> User:
        user = User(
            id=self.ids.cuid("user"), name=name, display_name=display_name, org_ids=list(org_ids)
        )
        pat = token or self._token("tr_pat_", "pat", 40)
        user.personal_access_tokens.append(pat)
        self.users[user.id] = user
        self.personal_access_tokens[pat] = user.id
        return user

    def add_project(
        self,
        org: Organization,
        name: str,
        *,
        ref: str | None = None,
        dev_owners: Iterable[str] = (),
        dev_key: str | None = None,
        preview_branches: Iterable[str] = (),
    ) -> Project:
        slug = name.lower().replace(" ", "-")
        project = Project(
            id=self.ids.cuid("project"),
            ref=ref or "proj_" + self.ids.chars("project-ref", 20),
            name=name,
            slug=f"{slug}-{self.ids.chars('project-slug', 4)}",
            org_id=org.id,
        )
        self.projects[project.ref] = project
        for index, owner in enumerate(dev_owners):
            user = self.user_by_name(owner)
            self.add_environment(
                project, "DEVELOPMENT", owner=user, api_key=dev_key if index == 0 else None
            )
        self.add_environment(project, "STAGING")
        self.add_environment(project, "PRODUCTION")
        preview = self.add_environment(project, "PREVIEW")
        for branch in preview_branches:
            self.add_branch(preview, branch)
        return project

    def add_environment(
        self,
        project: Project,
        env_type: str,
        *,
        owner: User | None = None,
        api_key: str | None = None,
    ) -> Environment:
        env = Environment(
            id=self.ids.cuid("environment"),
            project_ref=project.ref,
            type=env_type,
            api_key=api_key or self._token(KEY_PREFIXES[env_type], "secret-key"),
            shortcode=self.ids.chars("shortcode", 6),
            owner_user_id=owner.id if owner else None,
        )
        self.environments[env.id] = env
        self.api_keys[env.api_key] = ApiKey(env.api_key, env.id)
        return env

    def add_branch(self, parent: Environment, branch_name: str) -> Environment:
        """A branch (child) environment of a PREVIEW or DEVELOPMENT environment."""
        child = Environment(
            id=self.ids.cuid("environment"),
            project_ref=parent.project_ref,
            type=parent.type,
            api_key=self._token(KEY_PREFIXES[parent.type], "secret-key"),
            shortcode=self.ids.chars("shortcode", 6),
            owner_user_id=parent.owner_user_id,
            parent_id=parent.id,
            branch_name=branch_name,
        )
        self.environments[child.id] = child
        # A branch's own key is not how clients reach it (they send the parent key plus
        # x-trigger-branch), so it is not registered as a credential.
        return child

    def add_api_key(self, environment: Environment, scopes: Iterable[str] | None = None) -> str:
        """Create an additional secret key (``tr_<env>_sk_…``) for ``environment``; with
        ``scopes`` it is restricted to them (RBAC answers 403 for anything else)."""
        with self.lock:
            prefix = KEY_PREFIXES[environment.type] + "sk_"
            token = self._token(prefix, "additional-key")
            self.api_keys[token] = ApiKey(
                token,
                environment.id,
                root=False,
                scopes=frozenset(scopes) if scopes is not None else None,
            )
            return token

    def revoke(self, token: str) -> None:
        """Make a key or PAT unknown from now on (as a revoked token is)."""
        with self.lock:
            self.api_keys.pop(token, None)
            self.personal_access_tokens.pop(token, None)
            self.revoked_tokens.add(token)

    # -- lookups -----------------------------------------------------------------------------

    def user_by_name(self, name: str) -> User:
        for user in self.users.values():
            if user.name == name:
                return user
        raise KeyError(name)

    def api_key(self, token: str) -> ApiKey | None:
        """The secret key ``token``, if it is accepted now."""
        key = self.api_keys.get(token)
        if key is not None and key.revoked_until is not None and key.revoked_until <= self.now():
            return None
        return key

    def environment_for_key(self, token: str) -> Environment | None:
        key = self.api_key(token)
        return self.environments.get(key.environment_id) if key else None

    def project_environments(self, project_ref: str) -> list[Environment]:
        return [e for e in self.environments.values() if e.project_ref == project_ref]

    def environment(
        self,
        project_ref: str,
        env_type: str,
        *,
        owner_user_id: str | None = None,
        branch: str | None = None,
    ) -> Environment | None:
        """The non-archived environment of a project by type (``DEVELOPMENT`` …), owner (dev)
        and branch (children)."""
        for env in self.environments.values():
            if env.project_ref != project_ref or env.type != env_type or env.archived:
                continue
            if env.branch_name != branch:
                continue
            if (
                env_type == "DEVELOPMENT"
                and owner_user_id is not None
                and env.owner_user_id != owner_user_id
            ):
                continue
            return env
        return None

    def branch_of(self, parent: Environment, branch: str) -> Environment | None:
        for env in self.environments.values():
            if env.parent_id == parent.id and env.branch_name == branch and not env.archived:
                return env
        return None

    def user_can_see(self, user: User, project: Project) -> bool:
        return project.org_id in user.org_ids

    def environments_by_public_slug(self, project_ref: str) -> dict[str, Environment]:
        """Root (non-branch) environments of a project keyed ``dev``/``staging``/``prod``/
        ``preview``; the dev entry is the default user's."""
        found: dict[str, Environment] = {}
        for env in self.project_environments(project_ref):
            if env.parent_id is not None:
                continue
            if env.type == "DEVELOPMENT" and env.owner_user_id != self.default_user.id:
                continue
            found[env.public_slug] = env
        return found

    def user(self, user_id: str | None) -> User | None:
        return self.users.get(user_id) if user_id else None

    def token_fingerprint(self, token: str) -> str:
        """A stable, non-reversible id of a credential (for caches keyed by credential)."""
        return hashlib.sha256(token.encode()).hexdigest()[:32]
