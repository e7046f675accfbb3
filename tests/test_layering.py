"""The layering rules of docs/ARCHITECTURE.md, checked on every module's imports (absolute and
relative, at any depth in the module)."""

from __future__ import annotations

import ast
from pathlib import Path

from django.test import SimpleTestCase

PACKAGE = Path(__file__).resolve().parents[1] / "django_trigger"

CORE = ("exceptions", "credentials", "options", "validators", "types", "_http", "pagination",
        "resources", "client")
GLUE = ("conf", "clients", "checks", "apps")
FEATURES = ("admin", "envsync", "management", "models", "migrations", "transactions",
            "webhooks")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> set[str]:
    """Every module ``path`` imports, as absolute names."""
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def area(name: str) -> str | None:
    """The top-level part of django_trigger a module belongs to (``types``, ``admin``…)."""
    parts = name.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "django_trigger" else None


class LayeringTests(SimpleTestCase):
    def modules(self, *areas: str) -> list[tuple[str, set[str]]]:
        found = [
            (module_name(path), imports(path)) for path in sorted(PACKAGE.rglob("*.py"))
            if area(module_name(path)) in areas
        ]
        self.assertTrue(found, areas)
        return found

    def assertNoImport(self, modules, forbidden, rule):
        problems = [
            f"{name} imports {imported}"
            for name, imported_names in modules
            for imported in sorted(imported_names)
            if any(imported == f or imported.startswith(f + ".") for f in forbidden)
        ]
        self.assertEqual(problems, [], rule)

    def test_exceptions_import_nothing_from_the_package(self):
        self.assertNoImport(self.modules("exceptions"), ["django_trigger"], "rule 1")

    def test_core_never_reads_settings_or_uses_django_glue(self):
        forbidden = ["django.conf"] + [f"django_trigger.{m}" for m in GLUE + FEATURES]
        forbidden.append("django_trigger.testing")
        self.assertNoImport(self.modules(*CORE), forbidden, "rule 2")

    def test_only_conf_reads_settings(self):
        modules = [m for m in self.modules(*GLUE, *FEATURES) if area(m[0]) != "conf"]
        # checks/apps/clients/admin may import django.conf.settings only through conf.
        problems = [name for name, names in modules if "django.conf.settings" in names]
        self.assertEqual(problems, [], "rule 3")

    def test_features_use_the_client_not_http(self):
        self.assertNoImport(self.modules(*FEATURES),
                            ["django_trigger._http", "requests", "urllib3"], "rule 4")

    def test_the_emulator_is_an_independent_oracle(self):
        helpers = {"django_trigger.testing.testcases", "django_trigger.testing.pytest_plugin"}
        emulator = [m for m in self.modules("testing") if m[0] not in helpers]
        forbidden = [f"django_trigger.{m}" for m in CORE + GLUE + FEATURES] + ["django.conf"]
        self.assertNoImport(emulator, forbidden, "rule 5")
