"""Check edgeml's picamera2 calls and the picamera2 test double against the real API (:mod:`tests.picamera2_wheel`).

:func:`check_source` follows values through a source file (``require("picamera2")`` → module → ``Picamera2`` →
camera → ``capture_request()`` → request, ``stream_configuration()`` → stream dict, ``Picamera2.platform`` →
``Platform`` → ``.name``) and reports every method, argument, attribute, dict key and Platform name the real API
lacks, so a new call in the source is checked without anyone listing it. :func:`check_double` compares a double's
classes with the real ones: methods, parameter names and positions, defaults, attributes, Enum members.
"""

from __future__ import annotations

import ast
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from tests.picamera2_wheel import RealApi, Signature, read_class, self_attr, str_keys, targets

__all__ = ["ATTRIBUTES", "RETURNS", "Report", "check_double", "check_source", "compatibility"]

# How values the real API returns are followed through edgeml's source; a value of any other kind is not checked.
# Kinds: "module", "class:C", "obj:C" (an instance), "enum:Platform" (a member), "name:Platform" (a member's .name,
# a str), "stream" (a stream configuration dict).
RETURNS = {("Picamera2", "stream_configuration"): "stream", ("Picamera2", "capture_request"): "obj:CompletedRequest"}
ATTRIBUTES = {("Picamera2", "platform"): "enum:Platform"}


@dataclass
class Report:
    """What a check looked at (``uses``, for the reader and for a floor) and what it found wrong."""

    uses: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)


def _const(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _real_class(kind: str | None) -> str | None:
    """``"Picamera2"`` for ``"obj:Picamera2"`` or ``"class:Picamera2"``, else None."""
    return kind.split(":", 1)[1] if kind and kind.startswith(("class:", "obj:")) else None


class _Kinds:
    """Flow-insensitive kinds of names and ``self.x`` attributes in one source file (see :data:`RETURNS`)."""

    def __init__(self, tree: ast.Module, api: RealApi, report: Report) -> None:
        self.api = api
        self.env: dict[str, str] = {}
        for node in ast.walk(tree):
            for alias in node.names if isinstance(node, ast.Import | ast.ImportFrom) else []:
                if isinstance(node, ast.Import) and alias.name == "picamera2":
                    self.env[alias.asname or alias.name] = "module"
                elif (isinstance(node, ast.ImportFrom) and node.module == "picamera2"
                      and (kind := self.member("module", alias.name))):
                    self.env[alias.asname or alias.name] = kind
        for _ in range(5):  # until nothing new is learned; picam.py needs three rounds
            before = dict(self.env)
            for node in ast.walk(tree):
                value, written = getattr(node, "value", None), targets(node)
                if not isinstance(value, ast.expr) or not written:
                    continue
                values = value.elts if isinstance(value, ast.Tuple) and len(value.elts) == len(written) \
                    else [value] * len(written)
                for target, v in zip(written, values, strict=True):
                    key, kind = self.key(target), self.of(v)
                    if key and kind:
                        if self.env.get(key, kind) != kind:
                            report.problems.append(f"line {v.lineno}: {key!r} is both {self.env[key]} and {kind}")
                        self.env[key] = kind
            if self.env == before:
                break

    @staticmethod
    def key(node: ast.AST) -> str | None:
        if isinstance(node, ast.Name):
            return node.id
        attr = self_attr(node)
        return f"self.{attr}" if attr else None

    def member(self, kind: str | None, attr: str) -> str | None:
        if kind == "module":
            return f"class:{attr}" if attr in self.api.classes else None
        if cls := _real_class(kind):
            return ATTRIBUTES.get((cls, attr))
        return "name:Platform" if kind == "enum:Platform" and attr == "name" else None

    def of(self, node: ast.AST) -> str | None:
        key = self.key(node)
        if key:
            return self.env.get(key)
        if isinstance(node, ast.Attribute):
            return self.member(self.of(node.value), node.attr)
        if not isinstance(node, ast.Call):
            return None
        f, args = node.func, node.args
        name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
        if name in ("require", "import_module") and args and _const(args[0]) == "picamera2":
            return "module"
        if name == "getattr" and len(args) >= 2 and (attr := _const(args[1])):
            return self.member(self.of(args[0]), attr)
        if name == "dict" and len(args) == 1:
            return self.of(args[0])
        if isinstance(f, ast.Attribute) and (owner := self.of(f.value)) and owner.startswith("obj:"):
            return RETURNS.get((owner[4:], f.attr))
        made = self.of(f)
        return f"obj:{made[6:]}" if made and made.startswith("class:") else None


def _call_problems(api: RealApi, cls: str, method: str, call: ast.Call, report: Report) -> list[str]:
    """Check one call of ``cls.method`` (``__init__`` for a construction) against the real signature."""
    shown = cls if method == "__init__" else f"{cls}.{method}"
    keywords = [k.arg for k in call.keywords if k.arg is not None]
    report.uses.add(f"{shown}({', '.join(f'{k}=' for k in keywords)})")
    sig = api.classes[cls].methods.get(method)
    if sig is None:
        return [f"{shown}() does not exist"]
    unpacked = any(isinstance(a, ast.Starred) for a in call.args) or len(keywords) < len(call.keywords)
    problems = [f"{shown}() {p}" for p in sig.bind(len(call.args), keywords, unpacked)]
    bound: dict[str, ast.expr] = dict(zip((p.name for p in sig.positional), call.args, strict=False))
    bound.update((k.arg, k.value) for k in call.keywords if k.arg is not None)
    if stream := _const(bound.get("name")):  # picamera2 calls a stream's name `name` throughout
        report.uses.add(f"stream name {stream!r}")
        if stream not in api.stream_names:
            problems.append(f"{shown}(): no stream {stream!r} (streams: {', '.join(sorted(api.stream_names))})")
    for param in sorted(api.stream_params.get(method, ()) if cls == "Picamera2" else ()):
        value = bound.get(param)
        for key in str_keys([k for k in value.keys if k is not None] if isinstance(value, ast.Dict) else []):
            report.uses.add(f"stream dict key {key!r}")
            if key not in api.stream_keys:
                problems.append(f"{shown}({param}=...): stream key {key!r} is not one of {sorted(api.stream_keys)}")
    return problems


def _platform_names(api: RealApi, nodes: Collection[ast.AST], report: Report) -> list[str]:
    members = api.classes["Platform"].members if "Platform" in api.classes else {}
    problems = []
    for n in nodes:
        for s in str_keys(n.elts if isinstance(n, ast.Tuple | ast.List | ast.Set) else [n]):
            report.uses.add(f"Platform.{s}")
            if s not in members:
                problems.append(f"Platform has no member {s!r} (it has {', '.join(members)})")
    return problems


def _key_problems(api: RealApi, nodes: Collection[ast.AST], report: Report) -> list[str]:
    keys = str_keys(nodes)
    report.uses.update(f"stream_configuration()[{k!r}]" for k in keys)
    return [f"stream_configuration() holds no {k!r} (it has {', '.join(sorted(api.stream_config_keys))})"
            for k in sorted(keys - api.stream_config_keys)]


def _attribute_problems(api: RealApi, kind: str | None, attr: str, report: Report) -> list[str]:
    if kind == "module":
        report.uses.add(f"picamera2.{attr}")
        return [] if attr in api.exports else [f"picamera2 exports no {attr!r}"]
    if (name := _real_class(kind)) and (cls := api.classes.get(name)):
        on_class = kind is not None and kind.startswith("class:")
        report.uses.add(f"{name}.{attr}")
        return [] if cls.has_attribute(attr, on_class) else [
            f"{name} has no {'class ' if on_class else ''}attribute {attr!r}"]
    if kind == "enum:Platform":
        report.uses.add(f"Platform.{attr}")
        return [] if attr in ("name", "value") or attr in api.classes["Platform"].members else [
            f"Platform has no attribute {attr!r}"]
    return []


def _node_problems(node: ast.AST, kinds: _Kinds, called: set[int], report: Report) -> list[str]:
    """What one node of the source uses of picamera2 that the real API lacks."""
    api, problems = kinds.api, []
    attr: tuple[ast.expr, str] | None = None
    if isinstance(node, ast.Call):
        f = node.func
        owner = kinds.of(f.value) if isinstance(f, ast.Attribute) else None
        if isinstance(f, ast.Attribute) and (cls := _real_class(owner)) and cls in api.classes:
            problems += _call_problems(api, cls, f.attr, node, report)
        elif isinstance(f, ast.Attribute) and owner == "stream" and f.attr == "get":
            problems += _key_problems(api, node.args[:1], report)
        elif (made := kinds.of(f)) and made.startswith("class:"):
            problems += _call_problems(api, made[6:], "__init__", node, report)
        if isinstance(f, ast.Attribute) and owner == "module":  # picamera2.Picamera2(...): exported at all?
            attr = (f.value, f.attr)
        elif isinstance(f, ast.Name) and f.id == "getattr" and len(node.args) >= 2 and (name := _const(node.args[1])):
            attr = (node.args[0], name)
            if len(node.args) == 3 and kinds.of(node) == "name:Platform":  # the default must be a member too
                problems += _platform_names(api, node.args[2:], report)
    elif isinstance(node, ast.Attribute) and id(node) not in called:
        attr = (node.value, node.attr)
    elif isinstance(node, ast.Subscript) and kinds.of(node.value) == "stream":
        problems += _key_problems(api, [node.slice], report)
    elif isinstance(node, ast.Compare):
        operands = [node.left, *node.comparators]
        if any(kinds.of(o) == "name:Platform" for o in operands):
            problems += _platform_names(api, operands, report)
    if attr is not None:
        problems += _attribute_problems(api, kinds.of(attr[0]), attr[1], report)
    return problems


def check_source(source: str, api: RealApi, filename: str = "<source>") -> Report:
    """Report what ``source`` uses of picamera2 that ``api`` lacks, one problem per use, with its line number."""
    tree = ast.parse(source, filename)
    report = Report()
    kinds = _Kinds(tree, api, report)
    called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    for node in ast.walk(tree):
        report.problems += [f"{filename}:{getattr(node, 'lineno', 0)}: picamera2 {api.version}: {p}"
                            for p in _node_problems(node, kinds, called, report)]
    return report


def _default_problem(name: str, double: str | None, real: str | None) -> str | None:
    if double is None or double == real:
        return None  # a double may require what picamera2 makes optional: a call that works on it works on a Pi
    if real is None:
        return f"{name!r} has a default ({double}) where picamera2 requires it"
    try:
        d, r = ast.literal_eval(double), ast.literal_eval(real)
    except ValueError:
        return None  # picamera2's default is an object (libcamera.Transform()); the double's None stands for it
    # None in the double stands for picamera2's mutable {} default (house style: no mutable defaults).
    if d == r or (d is None and r in ({}, [], ())):
        return None
    return f"{name!r} defaults to {double} where picamera2's default is {real}"


def compatibility(double: Signature, real: Signature) -> list[str]:
    """Return how calls valid on the double could fail or mean something else on the real method."""
    problems = []
    rpos = real.positional
    for i, p in enumerate(double.positional):
        if i >= len(rpos):
            if not real.has("var_positional"):
                problems.append(f"takes {p.name!r} as positional argument {i + 1}; picamera2 takes {len(rpos)}")
        elif rpos[i].name != p.name:
            problems.append(f"positional argument {i + 1} is {p.name!r}; picamera2's is {rpos[i].name!r}")
    for p in double.params:
        if p.kind == "keyword_only" and real.keyword(p.name) is None and not real.has("var_keyword"):
            problems.append(f"takes keyword {p.name!r}; picamera2 does not")
        if p.kind in ("var_positional", "var_keyword") and not real.has(p.kind):
            problems.append(f"takes {'*' if p.kind == 'var_positional' else '**'}{p.name}; picamera2 does not, so "
                            "the double accepts calls picamera2 rejects")
        rp = real.keyword(p.name) or next((q for q in real.positional if q.name == p.name), None)
        if rp is not None and p.kind != "var_keyword" and (msg := _default_problem(p.name, p.default, rp.default)):
            problems.append(msg)
    return problems


def check_double(source: str, api: RealApi, pairs: Mapping[str, str], constructed: Collection[str] = (),
                 double_only: Collection[str] = ()) -> Report:
    """Compare double classes in ``source`` with the real classes ``pairs`` maps them to.

    Args:
        source: The double module's source text.
        api: The real API.
        pairs: Double class name -> real class name (an Enum is compared member by member).
        constructed: Double classes whose ``__init__`` is also checked (the ones edgeml instantiates).
        double_only: Public attributes the double adds on purpose (scene, clock, inspection), not checked.
    """
    tree = ast.parse(source)
    defs = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
    report = Report()
    for name, real_name in pairs.items():
        if name not in defs or real_name not in api.classes:
            report.problems.append(f"no class {name!r} in the double or {real_name!r} in picamera2 {api.version}")
            continue
        double, real = read_class(defs[name]), api.classes[real_name]
        prefix = f"picamera2 {api.version}: {name} ({real_name})"
        if real.members or double.members:  # an Enum: compared member by member
            for member, value in double.members.items():
                report.uses.add(f"{real_name}.{member}")
                if real.members.get(member, object()) != value:
                    report.problems.append(f"{prefix}: member {member} = {value!r}; picamera2 has "
                                           f"{real.members or 'no members'}")
            continue
        for method, sig in sorted(double.methods.items()):
            if method.startswith("_") and not (method == "__init__" and name in constructed):
                continue
            report.uses.add(f"{real_name}.{method}")
            if method not in real.methods:
                report.problems.append(f"{prefix}: {method}() does not exist in picamera2")
            else:
                report.problems += [f"{prefix}: {method}() {p}" for p in compatibility(sig, real.methods[method])]
        for attr in sorted((double.class_attributes | double.instance_attributes) - double.methods.keys()):
            if not attr.startswith("_") and attr not in double_only:
                report.uses.add(f"{real_name}.{attr}")
                if not real.has_attribute(attr):
                    report.problems.append(f"{prefix}: attribute {attr!r} does not exist in picamera2")
    return report
