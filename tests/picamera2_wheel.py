"""picamera2's real API, read out of its wheel with ``ast``: picamera2 needs libcamera, so it is never imported.

:func:`load_api` opens a wheel with zipfile, parses its modules and reads:

- every top-level class: methods with their signatures (the last definition; ``@overload`` stubs skipped),
  class attributes and properties, the ``self.x`` attributes its methods assign, and Enum members' values;
- the names ``picamera2/__init__.py`` binds;
- evidence for the dict keys edgeml uses: the stream keys ``Picamera2._make_initial_stream_config`` accepts (its
  tuple of valid keys; any other key raises ``ValueError``), the keys ``_update_stream_config`` writes (what
  ``stream_configuration(name)`` holds after ``configure``), the stream names of ``stream_map`` (what
  ``make_buffer(name)`` accepts), and which parameters of each method are stream dicts.

When that evidence is gone from a new version, :class:`EvidenceMissingError` says what to look for instead of
letting a check pass on nothing.
"""

from __future__ import annotations

import ast
import zipfile
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["EvidenceMissingError", "Param", "RealApi", "RealClass", "Signature", "load_api", "read_class",
           "self_attr", "str_keys", "targets"]

_PROPERTY_DECORATORS = {"property", "classproperty", "cached_property", "setter", "getter", "deleter"}


class EvidenceMissingError(LookupError):
    """The real source no longer holds what a check reads (a function was renamed, a tuple moved): look again."""


@dataclass(frozen=True)
class Param:
    """One parameter: ``kind`` as in :class:`inspect.Parameter` (lower case); ``default`` is source text or None."""

    name: str
    kind: str
    default: str | None = None


@dataclass(frozen=True)
class Signature:
    """A function's parameters without ``self``/``cls``."""

    params: tuple[Param, ...]

    @classmethod
    def from_ast(cls, fn: ast.FunctionDef | ast.AsyncFunctionDef, bound: bool = True) -> Signature:
        a = fn.args
        pos = [*a.posonlyargs, *a.args]
        defaults = [None] * (len(pos) - len(a.defaults)) + [ast.unparse(d) for d in a.defaults]
        params = [Param(p.arg, "positional_only" if i < len(a.posonlyargs) else "positional_or_keyword", d)
                  for i, (p, d) in enumerate(zip(pos, defaults, strict=True))]
        if bound and params:
            params = params[1:]
        if a.vararg:
            params.append(Param(a.vararg.arg, "var_positional"))
        params += [Param(p.arg, "keyword_only", None if d is None else ast.unparse(d))
                   for p, d in zip(a.kwonlyargs, a.kw_defaults, strict=True)]
        if a.kwarg:
            params.append(Param(a.kwarg.arg, "var_keyword"))
        return cls(tuple(params))

    @property
    def positional(self) -> list[Param]:
        return [p for p in self.params if p.kind in ("positional_only", "positional_or_keyword")]

    def has(self, kind: str) -> bool:
        return any(p.kind == kind for p in self.params)

    def keyword(self, name: str) -> Param | None:
        """The parameter a ``name=`` keyword binds to, or None when none does (``**kwargs`` aside)."""
        return next((p for p in self.params if p.name == name
                     and p.kind in ("positional_or_keyword", "keyword_only")), None)

    def bind(self, n_positional: int, keywords: Collection[str], unpacked: bool = False) -> list[str]:
        """Return why a call with these arguments would raise TypeError (empty when it binds)."""
        problems, pos = [], self.positional
        if n_positional > len(pos) and not self.has("var_positional"):
            problems.append(f"takes {len(pos)} positional arguments, given {n_positional}")
        for kw in keywords:
            p = self.keyword(kw)
            if p is None and not self.has("var_keyword"):
                problems.append(f"has no parameter {kw!r} (it takes {', '.join(q.name for q in self.params)})")
            elif p is not None and p in pos[:n_positional]:
                problems.append(f"got {kw!r} both by position and by keyword")
        if not unpacked:
            bound = {p.name for p in pos[:n_positional]} | set(keywords)
            problems += [f"needs {p.name!r}" for p in self.params if p.default is None and p.name not in bound
                         and p.kind not in ("var_positional", "var_keyword")]
        return problems


@dataclass(frozen=True, eq=False)
class RealClass:
    """A class as written in the source: methods, class-level attributes and properties, instance attributes."""

    name: str
    methods: dict[str, Signature]
    class_attributes: frozenset[str]
    instance_attributes: frozenset[str]
    members: dict[str, Any] = field(default_factory=dict)  # an Enum's members with literal values

    def has_attribute(self, name: str, on_class: bool = False) -> bool:
        return name in self.methods or name in self.class_attributes or (
            not on_class and name in self.instance_attributes)


@dataclass(frozen=True, eq=False)
class RealApi:
    """What one picamera2 version offers (see the module docstring)."""

    version: str
    exports: frozenset[str]
    classes: dict[str, RealClass]
    stream_keys: frozenset[str]
    stream_config_keys: frozenset[str]
    stream_names: frozenset[str]
    stream_params: dict[str, frozenset[str]]


def _decorator_names(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    names = set()
    for d in fn.decorator_list:
        d = d.func if isinstance(d, ast.Call) else d
        names.add(d.attr if isinstance(d, ast.Attribute) else d.id if isinstance(d, ast.Name) else "")
    return names


def self_attr(node: ast.AST) -> str | None:
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self":
        return node.attr
    return None


def targets(node: ast.AST) -> list[ast.expr]:
    """The expressions an assignment statement writes, tuples unpacked."""
    if isinstance(node, ast.Assign):
        out: list[ast.expr] = []
        for t in node.targets:
            out += t.elts if isinstance(t, ast.Tuple | ast.List) else [t]
        return out
    if isinstance(node, ast.AnnAssign | ast.AugAssign):
        return [node.target]
    return []


def read_class(node: ast.ClassDef, bases: Mapping[str, RealClass] | None = None) -> RealClass:
    """Read a class definition; ``bases`` are already-read classes its bases may name (their members are merged)."""
    inherited = [bases[b.id] for b in node.bases if isinstance(b, ast.Name) and bases and b.id in bases]
    methods = {k: v for base in inherited for k, v in base.methods.items()}
    class_attrs = {a for base in inherited for a in base.class_attributes}
    instance_attrs = {a for base in inherited for a in base.instance_attributes}
    is_enum = any((b.id if isinstance(b, ast.Name) else getattr(b, "attr", "")).endswith("Enum") for b in node.bases)
    members: dict[str, Any] = {}
    for stmt in node.body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            decorators = _decorator_names(stmt)
            if "overload" in decorators:
                continue  # typing stubs; the undecorated definition after them is what runs
            if decorators & _PROPERTY_DECORATORS:
                class_attrs.add(stmt.name)
            else:
                methods[stmt.name] = Signature.from_ast(stmt, bound="staticmethod" not in decorators)
            for sub in ast.walk(stmt):
                instance_attrs.update(a for t in targets(sub) if (a := self_attr(t)))
        for t in targets(stmt):
            if isinstance(t, ast.Name):
                class_attrs.add(t.id)
                if is_enum and isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Constant):
                    members[t.id] = stmt.value.value
    return RealClass(node.name, methods, frozenset(class_attrs), frozenset(instance_attrs), members)


def _function(cls: ast.ClassDef, name: str, version: str) -> ast.FunctionDef:
    found = [s for s in cls.body if isinstance(s, ast.FunctionDef) and s.name == name]
    if not found:
        raise EvidenceMissingError(f"picamera2 {version}: {cls.name}.{name} is gone; find where it moved")
    return found[-1]


def str_keys(nodes: Collection[ast.AST]) -> set[str]:
    return {n.value for n in nodes if isinstance(n, ast.Constant) and isinstance(n.value, str)}


def _evidence(cls: ast.ClassDef, version: str) -> tuple[set[str], set[str], set[str], dict[str, frozenset[str]]]:
    """Stream keys accepted, stream configuration keys written, stream names, and stream-dict parameters."""
    make = _function(cls, "_make_initial_stream_config", version)
    tuples = [str_keys(n.value.elts) for n in ast.walk(make)
              if isinstance(n, ast.Assign) and isinstance(n.value, ast.Tuple | ast.List)]
    if len(tuples) != 1 or not tuples[0]:
        raise EvidenceMissingError(f"picamera2 {version}: _make_initial_stream_config no longer assigns one tuple "
                                   "of valid stream keys; find where stream dict keys are checked now")
    update = _function(cls, "_update_stream_config", version)
    config_arg = update.args.args[1].arg
    written = str_keys([t.slice for n in ast.walk(update) for t in targets(n) if isinstance(t, ast.Subscript)
                        and isinstance(t.value, ast.Name) and t.value.id == config_arg])
    names: set[str] = set()
    stream_params: dict[str, frozenset[str]] = {}
    for n in ast.walk(cls):
        for t in targets(n):
            if self_attr(t) == "stream_map" and isinstance(n, ast.Assign) and isinstance(n.value, ast.Dict):
                names |= str_keys([k for k in n.value.keys if k is not None])
            if isinstance(t, ast.Subscript) and self_attr(t.value) == "stream_map":
                names |= str_keys([t.slice])
        if isinstance(n, ast.FunctionDef):
            params = {a.arg for a in n.args.args}
            stream_params[n.name] = frozenset(
                c.args[1].id for c in ast.walk(n) if isinstance(c, ast.Call) and isinstance(c.func, ast.Attribute)
                and c.func.attr == "_make_initial_stream_config" and len(c.args) > 1
                and isinstance(c.args[1], ast.Name) and c.args[1].id in params)
    if not written or not names:
        raise EvidenceMissingError(f"picamera2 {version}: no stream configuration keys or stream_map names found")
    return tuples[0], written, names, stream_params


def load_api(wheel: Path) -> RealApi:
    """Read a picamera2 wheel (``picamera2-*.whl``) without importing it."""
    with zipfile.ZipFile(wheel) as zf:
        meta = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        version = next(line.split(":", 1)[1].strip() for line in zf.read(meta).decode().splitlines()
                       if line.startswith("Version:"))
        trees = {n.removesuffix(".py").removesuffix("/__init__").replace("/", "."): ast.parse(zf.read(n), n)
                 for n in zf.namelist() if n.startswith("picamera2/") and n.endswith(".py")}
    init = trees["picamera2"]
    exports: set[str] = set()
    origin: dict[str, str] = {}  # name -> module __init__ imports it from, to pick that one when names clash
    for stmt in init.body:
        if isinstance(stmt, ast.ImportFrom):
            module = ("picamera2." if stmt.level else "") + (stmt.module or "")
            for alias in stmt.names:
                exports.add(alias.asname or alias.name)
                origin[alias.asname or alias.name] = module
        elif isinstance(stmt, ast.ClassDef | ast.FunctionDef):
            exports.add(stmt.name)
        exports.update(t.id for t in targets(stmt) if isinstance(t, ast.Name))
    nodes: dict[str, ast.ClassDef] = {}
    for module, tree in sorted(trees.items()):
        for stmt in tree.body:
            if isinstance(stmt, ast.ClassDef) and (stmt.name not in nodes or origin.get(stmt.name) == module):
                nodes[stmt.name] = stmt
    classes: dict[str, RealClass] = {}
    while len(classes) < len(nodes):  # bases first, so their members can be merged
        ready = [n for n, c in nodes.items() if n not in classes and all(
            not isinstance(b, ast.Name) or b.id not in nodes or b.id in classes for b in c.bases)]
        if not ready:
            raise EvidenceMissingError(f"picamera2 {version}: circular class bases")
        classes.update((n, read_class(nodes[n], classes)) for n in ready)
    if "Picamera2" not in nodes:
        raise EvidenceMissingError(f"picamera2 {version}: no class Picamera2 in the wheel")
    keys, written, names, stream_params = _evidence(nodes["Picamera2"], version)
    return RealApi(version, frozenset(exports), classes, frozenset(keys), frozenset(written), frozenset(names),
                   stream_params)
