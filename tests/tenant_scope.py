"""Which SQL statements of the application are not scoped to one tenant.

The statements are read from the source (`ast`): the first argument of every asyncpg call
(`execute`, `fetch`, ...), resolved when it is a literal, an f-string or concatenation of
module or function constants, or a name bound to one. Each is parsed with PostgreSQL's own
parser (`pglast`), and every reference to a tenant table (one whose migrations give it a
`tenant_id` column) must be pinned by `tenant_id`: an equality to a value (`$1`, a
constant, `app_tenant_id()`) or to another tenant table's `tenant_id` (a co-located join)
in its WHERE or JOIN condition; an INSERT must name the `tenant_id` column. That is what a
database sharded by `tenant_id` (Citus) needs to route each statement to one shard.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from pglast import ast as pg
from pglast import enums, parse_sql
from pglast.parser import ParseError

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "faktura"
MIGRATIONS = SRC / "db" / "migrations"
SQL_CALLS = {"execute", "executemany", "fetch", "fetchrow", "fetchval", "prepare", "cursor"}
#: What an unresolvable f-string part becomes: an identifier that is no column of ours.
DYNAMIC = "dynamic_part"


@dataclass(frozen=True)
class Statement:
    path: str  # relative to the repository
    function: str  # qualified name of the enclosing function ("" at module level)
    line: int
    sql: str
    dynamic: bool  # some part could not be resolved from the source


@cache
def tenant_tables() -> frozenset[str]:
    """Tables with a `tenant_id` column, from the migrations (CREATE TABLE / ADD COLUMN)."""
    found: set[str] = set()
    for path in sorted(MIGRATIONS.glob("*.sql")):
        for raw in parse_sql(path.read_text()):
            stmt = raw.stmt
            if isinstance(stmt, pg.CreateStmt):
                cols = [e.colname for e in stmt.tableElts or () if isinstance(e, pg.ColumnDef)]
                if "tenant_id" in cols:
                    found.add(stmt.relation.relname)
            elif isinstance(stmt, pg.AlterTableStmt):
                for cmd in stmt.cmds or ():
                    if isinstance(cmd.def_, pg.ColumnDef) and cmd.def_.colname == "tenant_id":
                        found.add(stmt.relation.relname)
    return frozenset(found)


# -- reading the statements out of the Python source -------------------------------------


class _Resolver:
    """String values of expressions, from literals and constants bound in the module or in
    the enclosing function (every binding of a name is one possible value)."""

    def __init__(self, tree: ast.Module):
        self.module = _bindings(tree.body)
        self.resolving: set[int] = set()  # bindings being resolved: `q = f"..({q})"` uses the others
        #: `from faktura.x import NAME [as alias]`: alias → (module file, NAME)
        self.imported = {
            alias.asname or alias.name: (SRC.parent / (node.module.replace(".", "/") + ".py"), alias.name)
            for node in tree.body
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("faktura")
            for alias in node.names
        }

    def values(self, node: ast.expr, local: dict[str, list[ast.expr]]) -> list[tuple[str, bool]]:
        """(value, dynamic) for each value `node` may have; `dynamic` where a part is unknown."""
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return [(node.value, False)]
        if isinstance(node, ast.JoinedStr):
            out: list[tuple[str, bool]] = [("", False)]
            for part in node.values:
                if isinstance(part, ast.Constant):
                    out = [(s + str(part.value), d) for s, d in out]
                else:
                    assert isinstance(part, ast.FormattedValue)
                    options = self.values(part.value, local) or [(DYNAMIC, True)]
                    out = [(s + o, d or od) for s, d in out for o, od in options]
            return out
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left, right = self.values(node.left, local), self.values(node.right, local)
            return [(a + b, da or db) for a, da in left for b, db in right]
        if isinstance(node, ast.IfExp):
            return self.values(node.body, local) + self.values(node.orelse, local)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
            # `TEMPLATE.format(returning=...)`: the named parts are unknown (column lists)
            return [(_unknown_fields(v), True) for v, _ in self.values(node.func.value, local)]
        if isinstance(node, ast.Name) and node.id in self.imported and node.id not in local | self.module:
            path, name = self.imported[node.id]
            return _module_constant(path, name)
        if isinstance(node, ast.Name):
            found: list[tuple[str, bool]] = []
            for expr in local.get(node.id) or self.module.get(node.id) or []:
                if id(expr) not in self.resolving:
                    self.resolving.add(id(expr))
                    try:
                        found += self.values(expr, local)
                    finally:
                        self.resolving.discard(id(expr))
            return found
        return []


def _unknown_fields(template: str) -> str:
    """`str.format` fields of a template, replaced by the unknown part."""
    return re.sub(r"(?<!\{)\{[a-z_]*\}(?!\})", DYNAMIC, template)


@cache
def _module_constant(path: Path, name: str) -> list[tuple[str, bool]]:
    """The values of a module-level constant of another module of the application."""
    if not path.exists():
        return []
    tree = ast.parse(path.read_text())
    resolver = _Resolver(tree)
    return [v for expr in resolver.module.get(name, []) for v in resolver.values(expr, {})]


def _bindings(nodes: list[ast.AST]) -> dict[str, list[ast.expr]]:
    """name → the expressions assigned to it (`a = ...`, `a: T = ...`, `a, b = x, y`)."""
    found: dict[str, list[ast.expr]] = {}
    for node in nodes:
        pairs: list[tuple[ast.expr, ast.expr]] = []
        if isinstance(node, ast.Assign):
            pairs = [(t, node.value) for t in node.targets]
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            pairs = [(node.target, node.value)]
        for target, value in pairs:
            if isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple):
                pairs += list(zip(target.elts, value.elts, strict=False))
            elif isinstance(target, ast.Name):
                found.setdefault(target.id, []).append(value)
    return found


def statements(source: str, path: str) -> Iterator[Statement]:
    """Every SQL statement the module at `path` sends, as far as its source says. A list's
    `Query(table, columns, clauses, args)` counts as `SELECT * FROM table WHERE clauses`:
    filters and the cursor are only ever ANDed to those clauses."""
    tree = ast.parse(source)
    resolver = _Resolver(tree)

    def visit(node: ast.AST, scope: str, local: dict[str, list[ast.expr]]) -> Iterator[Statement]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                inner = f"{scope}.{child.name}" if scope else child.name
                yield from visit(child, inner, {**local, **_bindings(list(ast.walk(child)))})
                continue
            if isinstance(child, ast.Call):
                yield from _call_statements(child, resolver, path, scope, local)
            yield from visit(child, scope, local)

    yield from visit(tree, "", {})


def _call_statements(
    call: ast.Call, resolver: _Resolver, path: str, scope: str, local: dict[str, list[ast.expr]]
) -> Iterator[Statement]:
    func = call.func
    if isinstance(func, ast.Attribute) and func.attr in SQL_CALLS and call.args:
        for sql, dynamic in resolver.values(call.args[0], local) or [(DYNAMIC, True)]:
            yield Statement(path, scope, call.lineno, sql, dynamic)
    elif isinstance(func, ast.Name) and func.id == "tenant_fetch" and len(call.args) >= 2:
        # the handler's read, joined to the credentials check as `fetch_as_tenant` runs it
        for sql, dynamic in resolver.values(call.args[1], local) or [(DYNAMIC, True)]:
            wrapped = f"SELECT * FROM (SELECT NULL::uuid AS tenant_id) scope LEFT JOIN LATERAL ({sql}) found ON true"
            yield Statement(path, scope, call.lineno, wrapped, dynamic)
    elif isinstance(func, ast.Name) and func.id == "Query" and len(call.args) >= 3:
        tables = resolver.values(call.args[0], local) or [(DYNAMIC, True)]
        clauses = call.args[2]
        parts = (
            [resolver.values(c, local) or [(DYNAMIC, True)] for c in clauses.elts]
            if isinstance(clauses, ast.List)
            else [[(DYNAMIC, True)]]
        )
        where: list[tuple[str, bool]] = [("true", False)]
        for options in parts:
            where = [(w + " AND " + o, d or od) for w, d in where for o, od in options]
        for table, td in tables:
            for cond, cd in where:
                yield Statement(path, scope, call.lineno, f"SELECT * FROM {table} WHERE {cond}", td or cd)


@cache
def application_statements() -> tuple[Statement, ...]:
    return tuple(
        st
        for path in sorted(SRC.rglob("*.py"))
        for st in statements(path.read_text(), str(path.relative_to(ROOT)))
    )


# -- judging one statement ---------------------------------------------------------------


def unscoped(sql: str, tables: frozenset[str] | set[str]) -> list[str]:
    """The tenant tables `sql` reads or writes without pinning them by `tenant_id`."""
    try:
        parsed = parse_sql(sql)
    except ParseError as exc:
        return [f"not a statement known from the source ({exc})"]
    problems: list[str] = []
    for raw in parsed:
        _check(raw.stmt, tables, problems)
    return problems


def _walk(node: Any) -> Iterator[Any]:
    """Every pglast node below `node` (itself included)."""
    if isinstance(node, list | tuple):
        for x in node:
            yield from _walk(x)
    elif isinstance(node, pg.Node):
        yield node
        for name in node:
            yield from _walk(getattr(node, name))


def _check(stmt: Any, tables: frozenset[str] | set[str], problems: list[str]) -> None:
    for node in _walk(stmt):
        if isinstance(node, pg.RangeVar) and node.relname == DYNAMIC:
            problems.append("a table whose name the source does not say")
        if isinstance(node, pg.InsertStmt) and node.relation.relname in tables:
            cols = [c.name for c in node.cols or ()]
            if "tenant_id" not in cols:
                problems.append(f"INSERT INTO {node.relation.relname} without a tenant_id column")
        if isinstance(node, pg.SelectStmt | pg.UpdateStmt | pg.DeleteStmt):
            _check_query(node, tables, problems)


def _check_query(q: Any, tables: frozenset[str] | set[str], problems: list[str]) -> None:
    refs: list[pg.RangeVar] = []
    conditions: list[Any] = []
    sources: list[Any] = []
    if isinstance(q, pg.SelectStmt):
        sources = list(q.fromClause or ())
    elif isinstance(q, pg.UpdateStmt):
        sources = [q.relation, *(q.fromClause or ())]
    else:
        sources = [q.relation, *(q.usingClause or ())]
    conditions.append(q.whereClause)
    stack = sources
    while stack:
        item = stack.pop()
        if isinstance(item, pg.RangeVar):
            refs.append(item)
        elif isinstance(item, pg.JoinExpr):
            stack += [item.larg, item.rarg]
            conditions.append(item.quals)
    pinned = _pinned_names(conditions, refs, tables)
    for ref in refs:
        name = ref.alias.aliasname if ref.alias else ref.relname
        if ref.relname in tables and name not in pinned:
            problems.append(f"{ref.relname} read or written without a tenant_id condition")


def _pinned_names(
    conditions: list[Any], refs: list[pg.RangeVar], tables: frozenset[str] | set[str]
) -> set[str]:
    """Names (alias or table) whose `tenant_id` is compared for equality in `conditions`."""
    tenant_refs = [r for r in refs if r.relname in tables]
    only = (
        (tenant_refs[0].alias.aliasname if tenant_refs[0].alias else tenant_refs[0].relname)
        if len(tenant_refs) == 1
        else None
    )
    pinned: set[str] = set()
    for cond in conditions:
        for node in _conjuncts(cond):
            for side in _equality_sides(node):
                fields = [f.sval for f in side.fields if isinstance(f, pg.String)]
                if fields[-1:] == ["tenant_id"]:
                    if len(fields) == 2:
                        pinned.add(fields[0])
                    elif only is not None:
                        pinned.add(only)
    return pinned


def _conjuncts(node: Any) -> Iterator[Any]:
    """The ANDed parts of a condition (an OR pins nothing by itself)."""
    if node is None:
        return
    if isinstance(node, pg.BoolExpr) and node.boolop == enums.BoolExprType.AND_EXPR:
        for arg in node.args:
            yield from _conjuncts(arg)
    else:
        yield node


def _equality_sides(node: Any) -> Iterator[pg.ColumnRef]:
    """The column references an equality compares: `a = b`, `a = ANY(...)`, and row
    comparisons `(a, b) = (...)` / `IN`."""
    if not isinstance(node, pg.A_Expr):
        return
    ops = [n.sval for n in node.name or () if isinstance(n, pg.String)]
    if ops != ["="]:
        return
    for side in (node.lexpr, node.rexpr):
        if isinstance(side, pg.ColumnRef):
            yield side
        elif isinstance(side, pg.RowExpr) and node.kind == enums.A_Expr_Kind.AEXPR_OP:
            yield from (a for a in side.args if isinstance(a, pg.ColumnRef))
