"""A small reader of Bicep files for the offline infrastructure tests.

There is no Bicep CLI here, so the tests read the templates with the tree-sitter Bicep grammar (PyPI
`tree-sitter-bicep`): a file with a syntax error has ERROR or MISSING nodes, and the declarations turn
into plain Python values that tests can assert on. A reference to a symbol stays distinct from a string
that happens to spell the same name (`Ref("zoomApiUrl")` against `"zoomApiUrl"`), and any expression the
tests do not need to look into is kept as its source text (`Expr`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import tree_sitter_bicep
from tree_sitter import Language, Node, Parser

INFRA = Path(__file__).resolve().parents[2] / "infra"


@dataclass(frozen=True)
class Ref:
    """A reference to a parameter, variable, resource, module or loop variable."""

    name: str


@dataclass(frozen=True)
class Expr:
    """Any other expression (call, member access, operator, loop), as its source text."""

    text: str


class Interpolated(str):
    """A string literal with `${...}` parts; its value is the source text between the quotes."""


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    default: Any  # NO_DEFAULT when the parameter is required
    decorators: dict[str, Any]

    @property
    def required(self) -> bool:
        return self.default is NO_DEFAULT


@dataclass(frozen=True)
class Resource:
    symbol: str
    type: str  # e.g. "Microsoft.Storage/storageAccounts@2023-05-01"
    body: dict[str, Any]
    condition: Any  # the `if (...)` expression, or None
    loop: bool  # declared with `[for ...]`

    @property
    def kind(self) -> str:
        """The resource type without its API version."""
        return self.type.split("@")[0]


@dataclass(frozen=True)
class Module:
    symbol: str
    path: str
    body: dict[str, Any]


@dataclass
class BicepFile:
    path: Path
    params: dict[str, Param] = field(default_factory=dict)
    variables: dict[str, Any] = field(default_factory=dict)
    resources: list[Resource] = field(default_factory=list)
    modules: list[Module] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    referenced: set[str] = field(default_factory=set)  # every symbol used as a value
    declared: set[str] = field(default_factory=set)  # every symbol declared, loop variables included

    def resources_of(self, kind: str) -> list[Resource]:
        return [r for r in self.resources if r.kind == kind]

    def resource(self, symbol: str) -> Resource:
        return next(r for r in self.resources if r.symbol == symbol)

    def module(self, symbol: str) -> Module:
        return next(m for m in self.modules if m.symbol == symbol)


NO_DEFAULT = object()
_PARSER = Parser(Language(tree_sitter_bicep.language()))


def bicep_files() -> list[Path]:
    return sorted(INFRA.rglob("*.bicep"))


def syntax_errors(path: Path) -> list[str]:
    """Line and text of every ERROR or MISSING node in the file; empty when the syntax is valid."""
    tree = _PARSER.parse(path.read_bytes())
    problems: list[str] = []
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.is_error or node.is_missing:
            problems.append(f"{path.name}:{node.start_point.row + 1}: {node.text.decode()[:60]!r}")
            continue
        stack.extend(node.children)
    return problems


@cache
def read(path: Path) -> BicepFile:
    root = _PARSER.parse(path.read_bytes()).root_node
    file = BicepFile(path)
    for node in root.named_children:
        _declare(file, node)
    _collect_references(file, root)
    return file


def _declare(file: BicepFile, node: Node) -> None:
    if node.type == "decorators":
        return  # read with the declaration that follows them
    decorators = _decorators(node.prev_named_sibling)
    named = node.named_children
    if node.type == "parameter_declaration":
        name = named[0].text.decode()
        default = _value(named[2]) if len(named) > 2 else NO_DEFAULT
        file.params[name] = Param(name, named[1].text.decode(), default, decorators)
    elif node.type == "variable_declaration":
        file.variables[named[0].text.decode()] = _value(named[1])
    elif node.type == "output_declaration":
        file.outputs[named[0].text.decode()] = _value(named[-1])
    elif node.type == "resource_declaration":
        body, condition, loop = _unwrap(named[-1])
        file.resources.append(Resource(named[0].text.decode(), _value(named[1]), body, condition, loop))
    elif node.type == "module_declaration":
        body, _, _ = _unwrap(named[-1])
        file.modules.append(Module(named[0].text.decode(), _value(named[1]), body))
    if node.type.endswith("_declaration"):
        file.declared.add(named[0].text.decode())


def _decorators(node: Node | None) -> dict[str, Any]:
    if node is None or node.type != "decorators":
        return {}
    result = {}
    for decorator in node.named_children:
        call = decorator.named_children[0]
        name = call.child_by_field_name("function").text.decode()
        arguments = call.child_by_field_name("arguments").named_children
        result[name] = _value(arguments[0]) if arguments else None
    return result


def _unwrap(node: Node) -> tuple[dict[str, Any], Any, bool]:
    """The object body of a resource or module, its condition, and whether it is a loop."""
    loop = node.type == "for_statement"
    if loop:
        node = node.child_by_field_name("body")
    condition = None
    if node.type == "if_statement":
        condition = _value(node.named_children[0])
        node = node.named_children[-1]
    return _value(node), condition, loop


def _value(node: Node) -> Any:
    kind = node.type
    if kind == "string":
        if any(child.type == "interpolation" for child in node.named_children):
            return Interpolated(node.text.decode()[1:-1])
        return "".join(_string_part(child) for child in node.named_children)
    if kind == "multiline_string":
        return node.text.decode()[3:-3]
    if kind == "number":
        return int(node.text.decode())
    if kind == "boolean":
        return node.text.decode() == "true"
    if kind == "null":
        return None
    if kind == "identifier":
        return Ref(node.text.decode())
    if kind == "array":
        return [_value(child) for child in node.named_children]
    if kind == "object":
        result = {}
        for prop in node.named_children:
            if prop.type == "object_property":
                key, value = prop.named_children[0], prop.named_children[-1]
                result[_value(key) if key.type == "string" else key.text.decode()] = _value(value)
        return result
    if kind == "parenthesized_expression" and node.named_child_count == 1:
        return _value(node.named_children[0])
    return Expr(node.text.decode())


def _string_part(node: Node) -> str:
    text = node.text.decode()
    return {"\\'": "'", "\\\\": "\\", "\\n": "\n", "\\t": "\t"}.get(text, text)


# Identifiers that are names rather than references to a symbol.
_NAME_POSITIONS = {"function", "property"}


def _collect_references(file: BicepFile, root: Node) -> None:
    stack = [root]
    while stack:
        node = stack.pop()
        stack.extend(node.children)
        if node.type in {"loop_variable", "loop_enumerator"}:
            file.declared.add(node.text.decode())
        if node.type != "identifier" or node.parent is None:
            continue
        parent = node.parent
        if parent.type == "for_statement" and node.prev_sibling is not None and node.prev_sibling.type == "for":
            file.declared.add(node.text.decode())  # `for name in ...`
            continue
        index = parent.children.index(node)
        if parent.field_name_for_child(index) in _NAME_POSITIONS:
            continue
        if parent.type == "object_property" and parent.named_children[0] == node:
            continue  # a property key
        if parent.type.endswith("_declaration") and parent.named_children[0] == node:
            continue  # the declared name itself
        file.referenced.add(node.text.decode())
