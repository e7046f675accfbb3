"""Where the variables come from, and the one set of name → value they add up to.

Three kinds of source, lowest precedence first (a later one wins, see ``allow_overrides``):

1. the settings: ``TRIGGER[alias]["ENVVARS"]``, a dict ``{"NAME": "value"}`` (``None`` reads
   ``NAME`` from the environment) or a list of names read from the environment;
2. dotenv files (``--env-file``), in the order given, read line by line with django-environ's
   own reader (``Env.read_env`` on a class with its own ``ENVIRON``, so nothing touches
   ``os.environ``; values are taken raw, never through ``get_value``, which would treat a
   leading ``$`` as a reference to another variable);
3. the process environment: names listed explicitly (``--from-env``) and names starting with
   a prefix (``--prefix``), never the whole environment.

Why django-environ's reader and not python-dotenv's parser. Measured with django-environ 0.14
(``read_env``) and python-dotenv 1.2 (``parse_stream``), line by line: environ | dotenv | ours.

- ``export A=1``: 1 | 1 | 1.
- ``A=abc #c``: "abc #c" | "abc" | as environ, with a warning (``--parse-comments``).
- ``A="x<backslash>ny"``: backslash and n | a newline | as environ, with a warning.
- ``A="q<backslash>"b"``, escaped backslashes, single quotes, ``$HOME``, ``${B}``: the same in
  all three (python-dotenv interpolates only in ``dotenv_values``, not in the parser).
- ``A=abc`` + trailing spaces: kept | stripped | kept, with a warning.
- a double-quoted value over two lines: ``"line1`` and line 2 *logged with its text* |
  the two lines | an error naming line 2 (a value cannot span lines).
- ``A =1``, or ``not a var`` on line 3: dropped and logged with its text, no line number |
  ``A=1``, or an error flag with line 3 | an error naming the line, the text never echoed.
- a vertical tab in a value: cut there, the rest logged | kept | kept.

python-dotenv parses more (multi-line values, line numbers, nothing logged), but the file this
command syncs is the one the project's own settings read, with django-environ (``conf.py`` and
the usual ``environ.Env.read_env()``): python-dotenv would send "abc" to Trigger.dev where
Django reads "abc #c", and a newline where Django reads a backslash and n. So django-environ
reads every value, and the code around it (one line at a time, each line checked first so
that nothing it would log with a value reaches it; other line-break characters passed through
placeholders) adds line numbers and keeps values out of logs without changing its values.

Everything wrong is collected and raised at once as ``SourceError`` before anything is sent.
Messages name variables and where they are defined, never their values; they are translated
(gettext) in the active language. Source labels (``Origin.source``) are not: they name places,
like file paths, and key the command's JSON.
"""

from __future__ import annotations

import enum
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import environ
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from django_trigger.exceptions import InvalidRequestError
from django_trigger.validators import ENV_VAR_NAME as NAME_PATTERN
from django_trigger.validators import RESERVED_ENV_VAR_NAMES as RESERVED_NAMES

__all__ = [
    "MAX_ENTRY_BYTES",
    "UNSYNCABLE_NAMES",
    "UNSYNCABLE_PREFIXES",
    "Definition",
    "Desired",
    "DesiredVar",
    "Origin",
    "SkipReason",
    "Skipped",
    "SourceError",
    "SourceKind",
    "Sources",
    "collect",
    "read_dotenv",
]

#: Names the official SDK never syncs from a process environment (``syncEnvVars`` build
#: extension): shell, terminal and tool state. Applied to ``--prefix`` matches only.
UNSYNCABLE_NAMES = frozenset(
    {
        "PWD",
        "MallocNanoZone",
        "USER",
        "LANG",
        "__CFBundleIdentifier",
        "COMMAND_MODE",
        "PATH",
        "LOGNAME",
        "SSLKEYLOGFILE",
        "SSH_AUTH_SOCK",
        "SHLVL",
        "SHELL",
        "HOME",
        "__CF_USER_TEXT_ENCODING",
        "XPC_SERVICE_NAME",
        "XPC_FLAGS",
        "ORIGINAL_XDG_CURRENT_DESKTOP",
        "TERM_PROGRAM",
        "TERM_PROGRAM_VERSION",
        "COLORTERM",
        "GIT_ASKPASS",
        "VSCODE_GIT_ASKPASS_NODE",
        "VSCODE_GIT_ASKPASS_EXTRA_ARGS",
        "VSCODE_GIT_ASKPASS_MAIN",
        "VSCODE_GIT_IPC_HANDLE",
        "VSCODE_INJECTION",
        "ZDOTDIR",
        "USER_ZDOTDIR",
        "TERM",
        "OLDPWD",
        "HOMEBREW_PREFIX",
        "HOMEBREW_CELLAR",
        "HOMEBREW_REPOSITORY",
        "MANPATH",
        "INFOPATH",
        "__GIT_PROMPT_DIR",
        "GIT_PROMPT_EXECUTABLE",
        "NVM_DIR",
        "NVM_CD_FLAGS",
        "NVM_BIN",
        "NVM_INC",
        "BUN_INSTALL",
        "DENO_INSTALL",
        "GITHUB_TOKEN",
        "TMPDIR",
        "_",
    }
)
#: The SDK also never syncs its own configuration variables.
UNSYNCABLE_PREFIXES = ("TRIGGER_",)

#: The task receives each variable as one ``NAME=value`` string of its process environment;
#: Linux refuses (E2BIG) any such string of 128 KiB or more, NUL included (MAX_ARG_STRLEN).
MAX_ENTRY_BYTES = 128 * 1024

# django-environ 0.14's own rule for a variable line (``Env.read_env``); blank lines and lines
# starting with ``#`` are skipped. Any other line it would drop with a log warning (which
# echoes the line, value included): we refuse the file instead, naming the line.
_DOTENV_LINE = re.compile(r"\A(?:export )?([A-Za-z_0-9]+)=(.*)\Z")
_PREFIX = re.compile(r"[A-Za-z0-9_]+", re.ASCII)
# Lines end at \n, \r\n or \r only, as in python-dotenv. ``str.splitlines()`` also splits at
# the characters below, which would cut a value in two and make its second half another
# variable; such characters stay part of the value (as python-dotenv keeps them).
_DOTENV_NEWLINE = re.compile(r"\r\n|\r|\n")
_OTHER_LINE_BREAKS = "\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"


class SourceError(InvalidRequestError):
    """The sources cannot be synced as they are; ``problems`` lists every reason."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        heading = ngettext(
            "%(count)d problem in the sources:", "%(count)d problems in the sources:", count
        ) % {"count": count}
        super().__init__(heading + "\n" + "\n".join(f"  - {problem}" for problem in self.problems))


class SourceKind(str, enum.Enum):
    SETTINGS = "settings"
    FILE = "file"
    ENVIRONMENT = "environment"


@dataclass(frozen=True)
class Origin:
    """Where one definition comes from: ``source`` names the file, setting or environment
    (``.env.prod``, ``TRIGGER['default']['ENVVARS']``, ``environment (--prefix APP_)``), ``line``
    the line of a file; ``str()`` gives ``.env.prod:12``. ``rank`` orders the sources by
    precedence (higher wins)."""

    kind: SourceKind
    source: str
    rank: int
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.source}:{self.line}" if self.line is not None else self.source


@dataclass(frozen=True)
class Definition:
    name: str
    value: str = field(repr=False)
    origin: Origin


class SkipReason(str, enum.Enum):
    RESERVED = "reserved"  # TRIGGER_SECRET_KEY, TRIGGER_API_URL: the server drops them
    EMPTY = "empty"  # the server drops empty values (skipped with --allow-empty)
    UNSYNCABLE = "unsyncable"  # a --prefix match the SDK never syncs (PATH, TRIGGER_…)
    INVALID_NAME = "invalid name"  # a --prefix match that is not a valid variable name

    @property
    def explanation(self) -> str:
        if self is SkipReason.RESERVED:
            return _("reserved: Trigger.dev sets it itself and silently drops it on write")
        if self is SkipReason.EMPTY:
            return _("empty value: Trigger.dev silently drops empty values")
        if self is SkipReason.UNSYNCABLE:
            return _(
                "matched --prefix but is shell/tool state or SDK configuration, which the "
                "official SDK never syncs"
            )
        return _("matched --prefix but is not a valid name (ASCII letters, digits, underscores)")


@dataclass(frozen=True)
class Skipped:
    name: str
    origin: Origin
    reason: SkipReason


@dataclass(frozen=True)
class DesiredVar:
    """A variable as the sources define it; ``overrides`` lists lower-precedence definitions
    with another value that this one replaced (``allow_overrides``)."""

    name: str
    value: str = field(repr=False)
    origin: Origin
    secret: bool = False
    overrides: tuple[Origin, ...] = ()


@dataclass
class Desired:
    """The merged sources: ``variables`` by name (sorted), what was ``skipped`` and why,
    ``warnings`` about suspicious lines, and ``sources``: each source used with how many
    definitions it gave, lowest precedence first."""

    variables: dict[str, DesiredVar]
    skipped: list[Skipped]
    warnings: list[str]
    sources: list[tuple[str, int]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.variables)


@dataclass
class Sources:
    """What to read. ``environ`` is the process environment as a mapping (the command passes
    ``environ.Env.ENVIRON``; tests pass a dict)."""

    env_files: Sequence[str | Path] = ()
    settings_envvars: Any = None
    settings_where: str = "TRIGGER['default']['ENVVARS']"
    environ: Mapping[str, str] = field(default_factory=dict)
    environ_names: Sequence[str] = ()
    prefixes: Sequence[str] = ()
    parse_comments: bool = False
    allow_overrides: bool = False
    allow_empty: bool = False
    secret_names: Sequence[str] = ()
    all_secret: bool = False

    def __repr__(self) -> str:
        # Names and counts only: ``environ`` is the whole process environment and
        # ``settings_envvars`` holds values.
        spec = self.settings_envvars
        settings_names = (
            sorted(spec)
            if isinstance(spec, Mapping)
            else list(spec)
            if isinstance(spec, (list, tuple))
            else None
        )
        shown = {
            "env_files": repr([str(path) for path in self.env_files]),
            "settings_envvars": repr(settings_names),
            "environ": f"<{len(self.environ)} variables>",
            "environ_names": repr(list(self.environ_names)),
            "prefixes": repr(list(self.prefixes)),
            "secret_names": repr(list(self.secret_names)),
        }
        return "Sources(" + ", ".join(f"{key}={value}" for key, value in shown.items()) + ")"

    @property
    def empty(self) -> bool:
        """No source at all was given."""
        return not (
            self.env_files
            or self.settings_envvars is not None
            or self.environ_names
            or self.prefixes
        )


# --- dotenv files ------------------------------------------------------------------------------


def read_dotenv(
    path: str | Path, *, rank: int = 1, parse_comments: bool = False
) -> tuple[list[Definition], list[str], list[str]]:
    """Parse one dotenv file: (definitions in file order, problems, warnings).

    Lines are ``NAME=value`` or ``export NAME=value`` (no spaces around ``=``), blank, or
    comments (``#`` first; lines of only whitespace and indented comments are skipped too).
    Each variable line is read by django-environ itself, which: takes ``'single quoted'``
    values literally; in ``"double quoted"`` values turns ``\\"`` into ``"`` and ``\\\\`` into
    ``\\`` but keeps ``\\n``, ``\\r``, ``\\t`` as a backslash and a letter; keeps an inline
    ``# comment`` in the value unless ``parse_comments``; reads one line per variable (a value
    cannot span lines).
    """
    label = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        return (
            [],
            [
                _("%(file)s: cannot read the file (%(reason)s).")
                % {"file": label, "reason": exc.strerror or type(exc).__name__}
            ],
            [],
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line_number = data[: exc.start].count(b"\n") + 1
        return (
            [],
            [
                _("%(where)s: not UTF-8 text (byte %(byte)s); save the file as UTF-8.")
                % {"where": f"{label}:{line_number}", "byte": f"0x{data[exc.start]:02x}"}
            ],
            [],
        )
    text = text.removeprefix("\ufeff")

    reader = type("_DotenvReader", (environ.Env,), {"ENVIRON": {}})
    definitions: list[Definition] = []
    problems: list[str] = []
    warnings: list[str] = []
    open_quote = False  # the previous variable line opened a quote it did not close
    for number, line in enumerate(_DOTENV_NEWLINE.split(text), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        where = f"{label}:{number}"
        match = _DOTENV_LINE.match(line)
        if match is None:
            problems.append(f"{where}: {_explain_bad_line(line, open_quote)}")
            continue
        name, raw = match.group(1), match.group(2)
        value_text = raw.strip()
        open_quote = value_text[:1] in ("'", '"') and (
            len(value_text) < 2 or value_text[-1] != value_text[0]
        )
        value = _environ_value(reader, line, name, parse_comments)
        origin = Origin(SourceKind.FILE, label, rank, number)
        definitions.append(Definition(name, value, origin))
        warnings.extend(_dotenv_warnings(where, name, raw, parse_comments))
    return definitions, problems, warnings


def _environ_value(reader: type[environ.Env], line: str, name: str, parse_comments: bool) -> str:
    """The value django-environ reads from one variable line. Its reader splits its input with
    ``str.splitlines()`` (and logs the pieces it cannot parse, value included), so the other
    line-break characters go through it as private-use placeholders and are put back."""
    hidden: dict[str, str] = {}
    free = (chr(code) for code in range(0xE000, 0xF900) if chr(code) not in line)
    for char in sorted(set(line) & set(_OTHER_LINE_BREAKS)):
        hidden[char] = next(free)
    for char, placeholder in hidden.items():
        line = line.replace(char, placeholder)
    reader.ENVIRON.clear()
    reader.read_env(io.StringIO(line), parse_comments=parse_comments)
    value: str = reader.ENVIRON.pop(name)
    for char, placeholder in hidden.items():
        value = value.replace(placeholder, char)
    return value


def _explain_bad_line(line: str, after_open_quote: bool = False) -> str:
    """Why a line is not a variable, without echoing the line (it may be part of a value).
    A multi-line value is suspected only after a line that opened a quote and did not close
    it."""
    if "=" not in line:
        if after_open_quote:
            return _(
                "not NAME=value: the previous variable's quoted value seems to continue "
                "on this line, but a value cannot span lines (django-environ reads one "
                "variable per line)."
            )
        return _("not NAME=value: each line must be NAME=value, a # comment or blank.")
    key = line.split("=", 1)[0]
    control = next((char for char in key if not char.isprintable() and char not in " \t"), None)
    if control is not None:
        return _(
            "the name contains the control character U+%(code)04X (names are ASCII "
            "letters, digits and underscores)."
        ) % {"code": ord(control)}
    if key != key.rstrip():
        return _("spaces before '=' are not allowed (write NAME=value).")
    candidate = key.removeprefix("export ").strip()
    shown = candidate if len(candidate) <= 40 else candidate[:40] + "…"
    if key.startswith((" ", "\t")):
        return _("a variable line must not be indented.")
    return _(
        "%(name)s is not a valid name: use ASCII letters, digits and underscores "
        "(optionally after 'export ')."
    ) % {"name": repr(shown)}


def _dotenv_warnings(where: str, name: str, raw: str, parse_comments: bool) -> list[str]:
    warnings = []
    quoted = raw[:1] in ("'", '"') and raw[-1:] == raw[:1] and len(raw) >= 2
    if not quoted and not parse_comments and re.search(r"\s#", raw):
        warnings.append(
            _(
                "%(where)s: the value of %(name)s contains ' #', which django-environ "
                "keeps as part of the value (pass --parse-comments to treat it as a "
                "comment, or quote the value)."
            )
            % {"where": where, "name": name}
        )
    if raw[:1] in ("'", '"') and not quoted:
        warnings.append(
            _(
                "%(where)s: the value of %(name)s starts with a quote but does not end "
                "with it, so django-environ (and so this command) keeps the quotes as "
                "part of the value (a value cannot span lines; nothing may follow the "
                "closing quote)."
            )
            % {"where": where, "name": name}
        )
    if not quoted and raw != raw.rstrip():
        warnings.append(
            _(
                "%(where)s: the value of %(name)s ends with whitespace, which is sent "
                "as is (quote the value if that is intended)."
            )
            % {"where": where, "name": name}
        )
    if raw.startswith('"') and re.search(r"\\[nrt]", raw):
        warnings.append(
            _(
                "%(where)s: the value of %(name)s contains \\n, \\r or \\t inside "
                "double quotes, which django-environ (and so this command) keeps as a "
                "backslash and a letter, not a control character."
            )
            % {"where": where, "name": name}
        )
    return warnings


# --- settings and process environment ---------------------------------------------------------


def _settings_definitions(sources: Sources, problems: list[str]) -> list[Definition]:
    spec, where = sources.settings_envvars, sources.settings_where
    if spec is None:
        return []
    definitions = []
    if isinstance(spec, Mapping):
        items = list(spec.items())
    elif isinstance(spec, (list, tuple)):
        items = [(name, None) for name in spec]
    else:
        problems.append(
            _("%(setting)s must be a dict of names to values or a list of names, not %(type)s.")
            % {"setting": where, "type": type(spec).__name__}
        )
        return []
    for name, value in items:
        if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
            problems.append(
                _(
                    "%(setting)s: %(name)s is not a valid name (ASCII letters, digits "
                    "and underscores)."
                )
                % {"setting": where, "name": _show_name(name)}
            )
            continue
        if value is None:
            env_value = sources.environ.get(name)
            if env_value is None:
                problems.append(
                    _("%(name)s (listed in %(setting)s) is not set in the environment.")
                    % {"name": name, "setting": where}
                )
                continue
            origin = Origin(SourceKind.SETTINGS, f"{where} (from the environment)", 0)
            definitions.append(Definition(name, env_value, origin))
        elif isinstance(value, str):
            definitions.append(Definition(name, value, Origin(SourceKind.SETTINGS, where, 0)))
        else:
            problems.append(
                _("%(setting)s must be a string (or None to read the environment), not %(type)s.")
                % {"setting": f"{where}[{name!r}]", "type": type(value).__name__}
            )
    return definitions


def _environ_definitions(
    sources: Sources, rank: int, problems: list[str], warnings: list[str], skipped: list[Skipped]
) -> list[Definition]:
    env = sources.environ
    definitions: dict[str, Definition] = {}
    for name in sources.environ_names:
        if not NAME_PATTERN.fullmatch(name):
            problems.append(
                _(
                    "--from-env %(name)s is not a valid name (ASCII letters, digits and "
                    "underscores)."
                )
                % {"name": _show_name(name)}
            )
            continue
        if name not in env:
            problems.append(
                _("%(name)s (--from-env) is not set in the environment.") % {"name": name}
            )
            continue
        definitions[name] = Definition(
            name, env[name], Origin(SourceKind.ENVIRONMENT, "environment (--from-env)", rank)
        )
    for prefix in sources.prefixes:
        if not _PREFIX.fullmatch(prefix):
            problems.append(
                _("--prefix %(prefix)s must be ASCII letters, digits and underscores.")
                % {"prefix": _show_name(prefix)}
            )
            continue
        origin = Origin(SourceKind.ENVIRONMENT, f"environment (--prefix {prefix})", rank)
        matches = sorted(name for name in env if name.startswith(prefix))
        if not matches:
            warnings.append(
                _("--prefix %(prefix)s matched no variable of the environment.")
                % {"prefix": prefix}
            )
        for name in matches:
            if name in definitions:
                continue
            # Reserved names go through, to be reported as reserved by the merge.
            unsyncable = name in UNSYNCABLE_NAMES or name.startswith(UNSYNCABLE_PREFIXES)
            if not NAME_PATTERN.fullmatch(name):
                skipped.append(Skipped(name, origin, SkipReason.INVALID_NAME))
            elif unsyncable and name not in RESERVED_NAMES:
                skipped.append(Skipped(name, origin, SkipReason.UNSYNCABLE))
            else:
                definitions[name] = Definition(name, env[name], origin)
    return list(definitions.values())


def _show_name(name: object) -> str:
    if isinstance(name, str):
        return repr(name if len(name) <= 40 else name[:40] + "…")
    return _("a %(type)s") % {"type": type(name).__name__}


# --- merging -----------------------------------------------------------------------------------


def collect(sources: Sources) -> Desired:
    """Read every source and merge them into one ``Desired`` set, or raise ``SourceError``
    with every problem found (nothing is sent before this succeeds)."""
    problems: list[str] = []
    warnings: list[str] = []
    skipped: list[Skipped] = []
    if sources.empty:
        raise SourceError(
            [
                _("nothing to sync: give --env-file, --from-env or --prefix, or set %(setting)s.")
                % {"setting": sources.settings_where}
            ]
        )

    groups: list[list[Definition]] = [_settings_definitions(sources, problems)]
    for index, path in enumerate(sources.env_files, start=1):
        definitions, file_problems, file_warnings = read_dotenv(
            path, rank=index, parse_comments=sources.parse_comments
        )
        groups.append(definitions)
        problems.extend(file_problems)
        warnings.extend(file_warnings)
    environ_rank = len(sources.env_files) + 1
    groups.append(_environ_definitions(sources, environ_rank, problems, warnings, skipped))

    by_name: dict[str, list[Definition]] = {}
    used: dict[str, int] = {}
    for group in groups:
        for definition in group:
            by_name.setdefault(definition.name, []).append(definition)
            used[definition.origin.source] = used.get(definition.origin.source, 0) + 1

    secret_names = set(sources.secret_names)
    for name in sorted(secret_names):
        if not NAME_PATTERN.fullmatch(name):
            problems.append(
                _("--secret %(name)s is not a valid name.") % {"name": _show_name(name)}
            )
        elif name not in by_name:
            problems.append(
                _("--secret %(name)s: %(name)s is not defined by any source.") % {"name": name}
            )
        elif name in RESERVED_NAMES:
            problems.append(
                _("--secret %(name)s: %(name)s is reserved and never synced.") % {"name": name}
            )

    variables: dict[str, DesiredVar] = {}
    for name, definitions in by_name.items():
        winner = definitions[-1]  # groups and lines are in precedence order
        others = [d for d in definitions[:-1] if d.value != winner.value]
        if others and not sources.allow_overrides:
            places = ", ".join(str(d.origin) for d in [*definitions])
            problems.append(
                _(
                    "%(name)s is defined with different values in %(places)s; remove "
                    "all but one, or pass --allow-overrides to let the later source "
                    "win."
                )
                % {"name": name, "places": places}
            )
            continue
        if name in RESERVED_NAMES:
            skipped.append(Skipped(name, winner.origin, SkipReason.RESERVED))
            continue
        if not winner.value.strip():
            if sources.allow_empty:
                skipped.append(Skipped(name, winner.origin, SkipReason.EMPTY))
            else:
                problems.append(
                    _(
                        "%(name)s is empty in %(origin)s: Trigger.dev drops empty "
                        "values; remove it, or pass --allow-empty to skip empty "
                        "values."
                    )
                    % {"name": name, "origin": winner.origin}
                )
            continue
        if "\x00" in winner.value:
            problems.append(
                _(
                    "%(name)s (%(origin)s) contains a NUL character, which no process "
                    "environment can hold."
                )
                % {"name": name, "origin": winner.origin}
            )
            continue
        size = len(f"{name}={winner.value}".encode()) + 1
        if size > MAX_ENTRY_BYTES:
            problems.append(
                _(
                    "%(name)s (%(origin)s) is too large: NAME=value takes %(size)s "
                    "bytes; a process environment entry must stay under %(limit)s "
                    "(Linux refuses to start the task otherwise)."
                )
                % {
                    "name": name,
                    "origin": winner.origin,
                    "size": f"{size:,}",
                    "limit": f"{MAX_ENTRY_BYTES:,}",
                }
            )
            continue
        variables[name] = DesiredVar(
            name,
            winner.value,
            winner.origin,
            secret=sources.all_secret or name in secret_names,
            overrides=tuple(d.origin for d in others),
        )
    if problems:
        raise SourceError(problems)
    ordered = dict(sorted(variables.items()))
    skipped.sort(key=lambda item: item.name)
    return Desired(ordered, skipped, warnings, list(used.items()))
