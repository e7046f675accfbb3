"""Handler modules: one per API resource, loaded automatically.

Every module in this package whose name does not start with ``_`` is a handler module; see the
contract in :mod:`django_trigger.testing.app` ("Adding a handler module"). In short::

    # django_trigger/testing/handlers/envvars.py
    from django_trigger.testing import auth, errors
    from django_trigger.testing.resources.envvars import EnvVarStore

    ORDER = 100                        # optional; seed order (runs is 10)
    STORES = {"envvars": EnvVarStore}  # optional; world.envvars, rebuilt on reset()

    def seed(world, rng):              # optional; deterministic data
        ...

    def register(router):              # required
        router.get("/api/v1/projects/{projectRef}/envvars/{env}", list_envvars,
                   auth=auth.ENVVARS)
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

__all__ = ["discover"]


def discover() -> list[ModuleType]:
    modules = []
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        if not callable(getattr(module, "register", None)):
            raise TypeError(f"handler module {module.__name__} has no register(router)")
        modules.append(module)
    modules.sort(key=lambda m: (getattr(m, "ORDER", 100), m.__name__))
    return modules
