"""Which project environments to sync, checked before anything is sent.

A secret key reaches one environment only: the API ignores the environment in the path and
writes the key's own (API.md §2.5), so any other target is refused here with a hint to use a
personal access token. A personal access token needs a project ref and reaches every
environment of its projects (one run can sync dev, staging and prod). Problems are translated
(gettext).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from django.utils.translation import gettext as _

from django_trigger import validators
from django_trigger.client import TriggerClient
from django_trigger.credentials import TokenKind, normalize_environment
from django_trigger.exceptions import InvalidRequestError

__all__ = ["BRANCH_ENVIRONMENTS", "Target", "TargetError", "resolve_targets", "target_client"]

#: Environments that have branches (``x-trigger-branch``); with a personal access token a
#: branch given for any other slug would select a *preview* branch instead (API.md §2.4).
BRANCH_ENVIRONMENTS = ("preview", "dev")


class TargetError(InvalidRequestError):
    """The targets cannot be reached as asked; ``problems`` lists every reason."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True)
class Target:
    project_ref: str
    environment: str  # dev | staging | prod | preview
    branch: str | None = None

    def __str__(self) -> str:
        where = f"{self.project_ref}/{self.environment}"
        if self.branch:
            return _("%(target)s (branch %(branch)s)") % {"target": where, "branch": self.branch}
        return where

    def to_dict(self) -> dict[str, str | None]:
        return {
            "project_ref": self.project_ref,
            "environment": self.environment,
            "branch": self.branch,
        }


def resolve_targets(
    client: TriggerClient,
    *,
    project_ref: str | None = None,
    environments: Sequence[str] = (),
    branch: str | None = None,
    prune: bool = False,
) -> list[Target]:
    """The targets of one run, in the order given (duplicates removed), or ``TargetError``."""
    problems: list[str] = []
    kind = client.token_kind
    ref = project_ref or client.project_ref
    if ref is None:
        if kind.is_personal:
            problems.append(
                _(
                    "A personal access token spans projects: pass --project-ref "
                    "proj_… or set PROJECT_REF for this client."
                )
            )
        else:
            problems.append(
                _(
                    "Environment variables live under a project: pass --project-ref "
                    "proj_… or set PROJECT_REF for this client."
                )
            )
    else:
        try:
            ref = client.require_project_ref(ref, "trigger_sync_envvars")
        except InvalidRequestError as err:
            problems.append(_("--project-ref: %(error)s.") % {"error": err})

    slugs: list[str] = []
    for given in environments:
        try:
            slug = normalize_environment(given)
        except ValueError as err:
            problems.append(_("--environment: %(error)s.") % {"error": err})
            continue
        if slug not in slugs:
            slugs.append(slug)
    if not environments:
        if client.environment is None:
            problems.append(
                _(
                    "No environment: pass --environment (dev, staging, prod or "
                    "preview) or set ENVIRONMENT for this client."
                )
            )
        else:
            slugs.append(client.environment)

    if kind is TokenKind.SECRET_KEY:
        own = client.environment
        others = [slug for slug in slugs if slug != own]
        if others:
            problems.append(
                _(
                    "This client's secret key belongs to %(own)s; the API ignores the environment "
                    "in the path and would silently write %(own)s instead of %(others)s. Use a "
                    "personal access token (tr_pat_…, with PROJECT_REF) to sync other or several "
                    "environments, or another alias (--client) configured with that environment's "
                    "secret key."
                )
                % {"own": repr(own), "others": ", ".join(repr(s) for s in others)}
            )

    if branch is not None:
        if not branch.strip():
            problems.append(_("--branch must not be empty."))
        else:
            try:
                validators.branch(branch)
            except ValueError as err:
                problems.append(_("--branch %(problem)s.") % {"problem": err})
        wrong = [slug for slug in slugs if slug not in BRANCH_ENVIRONMENTS]
        if wrong:
            problems.append(
                _(
                    "--branch applies to preview (and dev) branches only, not to %(environments)s: "
                    "with a personal access token the API would select a preview branch instead."
                )
                % {"environments": ", ".join(wrong)}
            )
    if prune and (branch or (client.preview_branch and client.environment in slugs)):
        problems.append(
            _(
                "--prune cannot be used on a branch: the API lists a branch's variables merged "
                "with its parent environment's, so names inherited from the parent cannot be told "
                "apart from the branch's own."
            )
        )
    if problems:
        raise TargetError(problems)

    assert ref is not None
    targets = []
    for slug in slugs:
        target_branch = branch
        if target_branch is None and slug == client.environment:
            target_branch = client.preview_branch
        targets.append(Target(ref, slug, target_branch or None))
    return targets


@contextlib.contextmanager
def target_client(client: TriggerClient, target: Target) -> Iterator[TriggerClient]:
    """``client``, or a copy sending ``target``'s branch header instead of the configured one
    (the configured ``PREVIEW_BRANCH`` is sent on every request; a target without a branch
    must not carry it). A copy is closed on exit."""
    if (client.preview_branch or None) == target.branch:
        yield client
        return
    copy = client.with_options(preview_branch=target.branch)
    try:
        yield copy
    finally:
        copy.close()
