"""Read the settings we need from ``drizzle.config.ts`` without running Node.

Only literal values can be read this way. A setting written as an expression
(a variable, a function call, a spread) is reported as unreadable, naming the
``invoke.yaml`` key that replaces it, rather than guessed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from drizzle_ops.errors import UserError

CONFIG_NAMES = ("drizzle.config.ts", "drizzle.config.mts", "drizzle.config.js", "drizzle.config.mjs")

DEFAULT_OUT = "drizzle"
DEFAULT_TABLE = "__drizzle_migrations"
DEFAULT_SCHEMA = "drizzle"

# invoke.yaml keys (under drizzle_ops:) that override each setting
OVERRIDE_KEYS = {"out": "out", "table": "migrations_table", "schema": "migrations_schema"}


@dataclass(frozen=True)
class DrizzleConfig:
    path: Path
    out: str
    migrations_table: str
    migrations_schema: str
    dialect: str | None


@dataclass(frozen=True)
class _Token:
    kind: str  # "str", "name", "num", "punct", "template"
    text: str


class _Unreadable(Exception):
    pass


def _tokenize(source: str) -> list[_Token]:
    """A small JS/TS lexer: enough to find object keys and literal values."""
    tokens: list[_Token] = []
    i, n = 0, len(source)
    while i < n:
        ch = source[i]
        if ch.isspace():
            i += 1
        elif source.startswith("//", i):
            end = source.find("\n", i)
            i = n if end < 0 else end
        elif source.startswith("/*", i):
            end = source.find("*/", i + 2)
            i = n if end < 0 else end + 2
        elif ch in "'\"`":
            j, buf = i + 1, []
            has_substitution = False
            while j < n and source[j] != ch:
                if source[j] == "\\" and j + 1 < n:
                    buf.append(source[j + 1])
                    j += 2
                    continue
                if ch == "`" and source.startswith("${", j):
                    has_substitution = True
                buf.append(source[j])
                j += 1
            kind = "template" if has_substitution else "str"
            tokens.append(_Token(kind, "".join(buf)))
            i = j + 1
        elif ch.isalpha() or ch in "_$":
            j = i
            while j < n and (source[j].isalnum() or source[j] in "_$"):
                j += 1
            tokens.append(_Token("name", source[i:j]))
            i = j
        elif ch.isdigit():
            j = i
            while j < n and (source[j].isalnum() or source[j] == "."):
                j += 1
            tokens.append(_Token("num", source[i:j]))
            i = j
        elif source.startswith("...", i):
            tokens.append(_Token("punct", "..."))
            i += 3
        else:
            tokens.append(_Token("punct", ch))
            i += 1
    return tokens


def _find_object_body(tokens: list[_Token]) -> tuple[int, int]:
    """Locate the exported config object: ``export default defineConfig({...})`` or ``export default {...}``."""
    for i, tok in enumerate(tokens):
        if tok.kind == "name" and tok.text == "default" and i > 0 and tokens[i - 1].text == "export":
            j = i + 1
            if j < len(tokens) and tokens[j].kind == "name" and j + 1 < len(tokens) and tokens[j + 1].text == "(":
                j += 2  # defineConfig(
            if j < len(tokens) and tokens[j].text == "{":
                return j, _matching(tokens, j)
            raise _Unreadable("the default export is not an object literal")
    raise _Unreadable("no `export default` found")


def _matching(tokens: list[_Token], open_index: int) -> int:
    pairs = {"{": "}", "[": "]", "(": ")"}
    stack = [pairs[tokens[open_index].text]]
    for k in range(open_index + 1, len(tokens)):
        text = tokens[k].text if tokens[k].kind == "punct" else None
        if text in pairs:
            stack.append(pairs[text])
        elif text is not None and stack and text == stack[-1]:
            stack.pop()
            if not stack:
                return k
    raise _Unreadable("unbalanced brackets")


def _top_level_properties(tokens: list[_Token], start: int, end: int) -> tuple[dict[str, tuple[int, int]], bool]:
    """Map key -> (first value token, last value token) for the object between start and end.

    Also reports whether the object has a spread, which could hide keys.
    """
    props: dict[str, tuple[int, int]] = {}
    has_spread = False
    k = start + 1
    while k < end:
        tok = tokens[k]
        if tok.text == "...":
            has_spread = True
        if tok.kind in ("name", "str") and k + 1 < end and tokens[k + 1].text == ":":
            value_start = k + 2
            v = value_start
            while v < end and tokens[v].text != ",":
                if tokens[v].kind == "punct" and tokens[v].text in "{[(":
                    v = _matching(tokens, v)
                v += 1
            props[tok.text] = (value_start, v - 1)
            k = v + 1
            continue
        if tok.kind == "name" and k + 1 <= end and tokens[k + 1].text in (",", "}"):
            props[tok.text] = (k, k)  # shorthand property: `{ out }` is a variable
        if tok.kind == "punct" and tok.text in "{[(":
            k = _matching(tokens, k)
        k += 1
    return props, has_spread


def _literal(tokens: list[_Token], span: tuple[int, int]) -> str:
    first, last = span
    if first == last and tokens[first].kind == "str":
        return tokens[first].text
    raise _Unreadable("not a string literal")


def read_drizzle_config(workspace: Path, overrides: dict[str, str | None] | None = None) -> DrizzleConfig:
    """Find and read the workspace's drizzle config; ``overrides`` (from invoke.yaml) win."""
    # invoke.yaml keys -> our setting names
    by_key = {key: setting for setting, key in OVERRIDE_KEYS.items()}
    overrides = {by_key.get(k, k): v for k, v in (overrides or {}).items() if v}
    path = next((workspace / name for name in CONFIG_NAMES if (workspace / name).is_file()), None)
    if path is None:
        raise UserError(f"no drizzle.config.ts in {workspace}; pass --workspace with the folder of the Drizzle package")
    needed = {"out", "table", "schema"} - overrides.keys()
    values: dict[str, str | None] = {"out": None, "table": None, "schema": None, "dialect": None}
    values.update(overrides)
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read {path}: {exc}") from None

    def unreadable(setting: str, why: str) -> UserError:
        key = OVERRIDE_KEYS[setting]
        return UserError(
            f"{path}: cannot read `{'migrations.' if setting != 'out' else ''}{setting}` statically ({why}); "
            f"set drizzle_ops.{key} in invoke.yaml"
        )

    try:
        tokens = _tokenize(source)
        start, end = _find_object_body(tokens)
        props, has_spread = _top_level_properties(tokens, start, end)
    except _Unreadable as exc:
        if needed:
            keys = " and ".join(f"drizzle_ops.{OVERRIDE_KEYS[n]}" for n in sorted(needed))
            raise UserError(f"{path}: cannot read the config statically ({exc}); set {keys} in invoke.yaml") from None
        props, has_spread = {}, False
    if "dialect" in props:
        try:
            values["dialect"] = _literal(tokens, props["dialect"])
        except _Unreadable:
            values["dialect"] = None
    if "out" in needed:
        if "out" in props:
            try:
                values["out"] = _literal(tokens, props["out"])
            except _Unreadable as exc:
                raise unreadable("out", str(exc)) from None
        elif has_spread:
            raise unreadable("out", "the config object has a spread that may set it")
    if needed & {"table", "schema"} and "migrations" in props:
        m_start, _m_end = props["migrations"]
        if tokens[m_start].text != "{":
            raise unreadable(sorted(needed & {"table", "schema"})[0], "`migrations` is not an object literal")
        inner, inner_spread = _top_level_properties(tokens, m_start, _matching(tokens, m_start))
        for setting in sorted(needed & {"table", "schema"}):
            if setting in inner:
                try:
                    values[setting] = _literal(tokens, inner[setting])
                except _Unreadable as exc:
                    raise unreadable(setting, str(exc)) from None
            elif inner_spread:
                raise unreadable(setting, "the migrations object has a spread that may set it")
    elif needed & {"table", "schema"} and has_spread:
        raise unreadable(sorted(needed & {"table", "schema"})[0], "the config object has a spread that may set it")

    dialect = values["dialect"]
    if dialect is not None and dialect != "postgresql":
        raise UserError(f"{path}: dialect is {dialect!r}; drizzle-ops supports only postgresql workspaces")
    out = (values["out"] or DEFAULT_OUT).removeprefix("./").rstrip("/") or "."
    return DrizzleConfig(
        path=path,
        out=out,
        migrations_table=values["table"] or DEFAULT_TABLE,
        migrations_schema=values["schema"] or DEFAULT_SCHEMA,
        dialect=dialect,
    )
