"""Parse ``ingu generate --where "…"`` into per-variable evidence masks for exact conditioning.

The expression is a small, safe subset of Python parsed with :mod:`ast` (never evaluated)::

    sex == '여자' and 30 <= age < 40 and province == '부산'
    occupation_major in ['2', '3'] and not (age < 25)
    education_level != '대학원' or education_level == '대학원'   # same variable: fine
    occupation_code is None

Every output column is a function of exactly one model variable (itself, or a derived column such
as ``province`` from ``district`` or ``birth_year`` from ``age``). An atomic comparison therefore
becomes a boolean mask over the codes of that one *source* variable, and the whole expression must
reduce to a conjunction of such masks — one per source variable — which is exactly the evidence
:func:`ingu.sample.posterior.posterior_tables` conditions on without rejection.

Semantics
---------
* ``and`` intersects: masks on the same source are ANDed, different sources stay separate entries.
* ``or`` is exact when the alternatives differ on a single source variable (after dropping
  alternatives that are empty or contained in another): ``age < 20 or age > 60`` and
  ``(sex == '남자' and age < 30) or (sex == '남자' and age > 60)`` are fine; ``sex == '여자' or
  age < 30`` is not expressible as per-variable evidence and raises :class:`WhereError`.
* ``not`` is the set complement; exact when its operand constrains a single source variable.
* Null values (a derived column may be null for some codes, e.g. no occupation) compare False under
  every operator, ``!=`` and ``not in`` included; only ``is None`` selects them (on a column that is
  never null it selects nothing). ``not (…)`` is a plain complement, so
  ``not (occupation_major == '2')`` *does* include the nulls.
* A condition nothing satisfies (``age > 200``) is not a parse error: its mask is all False and the
  sampler reports the empty conditional.
* Labels are NFC-normalised on both sides, so Korean text works whatever the terminal sends.
"""

from __future__ import annotations

import ast
import difflib
import re
import unicodedata
from dataclasses import dataclass

import numpy as np

__all__ = ["Column", "WhereError", "parse_where"]


@dataclass(frozen=True)
class Column:
    name: str                 # output column name, e.g. "age", "province", "birth_year"
    source: str               # variable it is a function of, e.g. "age", "district", "age"
    values: np.ndarray        # value of this column for each code of the source variable; dtype object (str) or int64; None / -1 sentinel for null is allowed via a separate mask
    null: np.ndarray | None = None   # bool per source code: column is null for that code


class WhereError(ValueError):
    """A ``--where`` expression that cannot be parsed into per-variable evidence.

    Attributes
    ----------
    expr
        The (normalised) expression.
    fragment
        The offending source fragment, or ``None``.
    offset
        0-based character offset of ``fragment`` in ``expr``, or ``None``.
    """

    def __init__(
        self,
        message: str,
        *,
        expr: str | None = None,
        fragment: str | None = None,
        offset: int | None = None,
        length: int = 1,
        hint: str | None = None,
    ) -> None:
        self.expr = expr
        self.fragment = fragment
        self.offset = offset
        self.hint = hint
        self.headline = message
        lines = [message]
        if offset is not None:
            lines[0] += f" (column {offset + 1})"
        if expr is not None and offset is not None:
            lines.append("    " + expr)
            marks = "^" * max(1, _width(expr[offset : offset + length]))
            lines.append("    " + " " * _width(expr[:offset]) + marks)
        if hint:
            lines.append(hint)
        super().__init__("\n".join(lines))


def parse_where(expr: str, columns: dict[str, Column]) -> dict[str, np.ndarray]:
    """Return evidence: source variable name -> boolean mask over its codes.

    Parameters
    ----------
    expr
        The ``--where`` expression (Python-like syntax; see the module docstring).
    columns
        Output column name → :class:`Column`. Columns sharing a ``source`` must agree on its number
        of codes (``len(values)``).

    Returns
    -------
    dict
        Source variable → boolean mask (``True`` = allowed) of length = number of codes. Only
        variables the expression mentions appear. A mask may be all False (unsatisfiable
        condition); the caller decides how to report that.

    Raises
    ------
    WhereError
        Syntax error, unknown column or value, unsupported construct, type mismatch, empty
        expression, or an ``or`` / ``not`` that cannot be expressed as per-variable evidence.
    """
    return _Parser(expr, columns).run()


# --------------------------------------------------------------------------------------------------
# helpers

_Rect = dict[str, np.ndarray]  # a product set: source variable -> allowed codes (missing = all)

# `literal op column` → `column op⁻¹ literal`
_FLIP = {ast.Lt: ast.Gt, ast.LtE: ast.GtE, ast.Gt: ast.Lt, ast.GtE: ast.LtE}
_ALLOWED = "only comparisons of columns with literal values, joined by and / or / not, are allowed"
_SYMBOL = {
    ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
    ast.In: "in", ast.NotIn: "not in", ast.Is: "is", ast.IsNot: "is not",
}
_ORDER = (ast.Lt, ast.LtE, ast.Gt, ast.GtE)
_CONSTRUCTS = {
    ast.Call: "function calls are not allowed",
    ast.Attribute: "attribute access is not allowed",
    ast.Subscript: "indexing is not allowed",
    ast.BinOp: "arithmetic is not allowed",
    ast.JoinedStr: "f-strings are not allowed",
    ast.Lambda: "lambdas are not allowed",
    ast.IfExp: "conditional expressions are not allowed",
    ast.NamedExpr: "assignment is not allowed",
    ast.Dict: "dict literals are not allowed",
    ast.Starred: "starred expressions are not allowed",
}
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def _nfc(s: str) -> str:
    return unicodedata.normalize("NFC", s)


def _width(s: str) -> int:
    """Terminal display width (Hangul and other wide characters take two cells)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)


def _listing(items: list[str], limit: int = 20) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f", … ({len(items) - limit} more)" if len(items) > limit else "")


def _close(word: str, candidates: list[str], n: int = 5) -> list[str]:
    """Close matches: containment either way first (부산광역시 → 부산), then difflib."""
    if not word:
        return []
    out = [c for c in candidates if c and (c in word or word in c)]
    out.sort(key=lambda c: -difflib.SequenceMatcher(None, word, c).ratio())
    for c in difflib.get_close_matches(word, candidates, n=n, cutoff=0.5):
        if c not in out:
            out.append(c)
    return out[:n]


def _literal_repr(v: object) -> str:
    return "'" + v + "'" if isinstance(v, str) else repr(v)


class _ColumnView:
    """A column prepared for vectorised comparison."""

    def __init__(self, name: str, col: Column) -> None:
        values = np.asarray(col.values)
        n = len(values)
        valid = np.ones(n, dtype=bool)
        if col.null is not None:
            null = np.asarray(col.null, dtype=bool)
            if null.shape != (n,):
                raise ValueError(f"column {name!r}: null mask shape {null.shape} != values shape ({n},)")
            valid &= ~null
        if values.dtype == object:
            valid &= np.array([v is not None for v in values], dtype=bool)
        self.name = name
        self.source = col.source
        self.n = n
        self.valid = valid
        kind = values.dtype.kind
        entries = values[valid]
        if kind in "iu" or (
            kind == "O"
            and len(entries) > 0
            and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in entries)
        ):
            self.kind = "int"
            ints = np.zeros(n, dtype=np.int64)
            ints[valid] = entries.astype(np.int64)
            self.ints = ints
            self.lo = int(ints[valid].min()) if valid.any() else 0
            self.hi = int(ints[valid].max()) if valid.any() else 0
        elif kind in "OU":
            if not all(isinstance(v, str) for v in entries):
                raise ValueError(f"column {name!r}: values must be all str or all int")
            self.kind = "str"
            self.labels: list[str] = []
            index: dict[str, int] = {}
            inverse = np.full(n, -1, dtype=np.int64)
            for i in np.flatnonzero(valid):
                label = _nfc(str(values[i]))
                k = index.setdefault(label, len(index))
                if k == len(self.labels):
                    self.labels.append(label)
                inverse[i] = k
            self.index = index
            self.inverse = inverse
        else:
            raise ValueError(f"column {name!r}: unsupported dtype {values.dtype}")

    @property
    def kind_words(self) -> str:
        return "an integer column" if self.kind == "int" else "a text column"


# --------------------------------------------------------------------------------------------------
# parser


class _Parser:
    def __init__(self, expr: str, columns: dict[str, Column]) -> None:
        if not isinstance(expr, str):
            raise WhereError(f"--where must be a string, got {type(expr).__name__}")
        # One line, NFC: newlines become spaces (same length), so offsets map 1:1 onto the display.
        self.text = re.sub(r"[\r\n]", " ", _nfc(expr)).strip()
        self.columns = columns
        self.by_ident = {unicodedata.normalize("NFKC", k): k for k in columns}  # identifiers are NFKC
        self.views: dict[str, _ColumnView] = {}
        self.cards: dict[str, int] = {}

    # -- errors and positions ---------------------------------------------------------------------

    def _char(self, byte_offset: int) -> int:
        return len(self.text.encode("utf-8")[:byte_offset].decode("utf-8", errors="ignore"))

    def _span(self, first: ast.AST, last: ast.AST | None = None) -> tuple[int, int]:
        last = last or first
        start = self._char(first.col_offset)
        end = self._char(last.end_col_offset)
        return start, end

    def _error(self, message: str, first: ast.AST | None = None, last: ast.AST | None = None,
               hint: str | None = None, quote: bool = True) -> WhereError:
        """An error pointing at the source span ``first``..``last``; ``quote`` appends the fragment."""
        if first is None:
            return WhereError(message, expr=self.text, hint=hint)
        start, end = self._span(first, last)
        fragment = self.text[start:end]
        return WhereError(
            f"{message}: `{fragment}`" if quote else message,
            expr=self.text, fragment=fragment, offset=start, length=max(1, end - start), hint=hint,
        )

    # -- entry ------------------------------------------------------------------------------------

    def run(self) -> dict[str, np.ndarray]:
        if not self.text:
            raise WhereError("empty --where expression", hint="example: sex == '여자' and 30 <= age < 40")
        try:
            tree = ast.parse(self.text, mode="eval")
        except SyntaxError as e:
            raise self._syntax_error(e) from None
        except ValueError as e:  # e.g. null bytes
            raise WhereError(f"cannot parse --where expression: {e}") from None
        rect = self._eval(tree.body)
        return {k: np.array(m, dtype=bool, copy=True) for k, m in rect.items()}

    def _syntax_error(self, e: SyntaxError) -> WhereError:
        offset = (e.offset - 1) if e.offset and e.offset > 0 else len(self.text)
        offset = min(max(offset, 0), len(self.text))
        end = offset + 1
        if e.end_offset and e.end_offset - 1 > offset and e.end_lineno == e.lineno:
            end = e.end_offset - 1
        hints = []
        t = self.text
        bare = re.sub(r"'[^']*'|\"[^\"]*\"", "''", t)  # hints look outside string literals
        if re.search(r"(?<![=!<>])=(?!=)", bare):
            hints.append("use == for equality, not =")
        if re.search(r"\b(AND|OR|NOT|And|Or|Not|IN|In)\b", bare):
            hints.append("write and / or / not / in in lower case")
        if "&&" in bare or "||" in bare or re.search(r"!(?!=)", bare):
            hints.append("use and / or / not instead of && / || / !")
        if re.search("[\u2018\u2019\u201c\u201d]", t):
            hints.append("use straight quotes ' or \" around values, not curly quotes")
        if re.search(r"\bbetween\b", bare, re.IGNORECASE):
            hints.append("write ranges as chained comparisons: 30 <= age < 40")
        hints.append("example: sex == '여자' and 30 <= age < 40 and province in ['서울', '부산']")
        fragment = t[offset:end] if offset < len(t) else ""
        where = f" near `{fragment}`" if fragment else " at end of expression"
        return WhereError(f"syntax error in --where: {e.msg}{where}", expr=t, fragment=fragment or None,
                          offset=offset, length=max(1, end - offset), hint="\n".join(hints))

    # -- columns ----------------------------------------------------------------------------------

    def _view(self, name: str) -> _ColumnView:
        if name not in self.views:
            view = _ColumnView(name, self.columns[name])
            card = self.cards.setdefault(view.source, view.n)
            if card != view.n:
                raise ValueError(
                    f"column {name!r} has {view.n} values but source {view.source!r} has {card} codes"
                )
            self.views[name] = view
        return self.views[name]

    def _unknown_column(self, node: ast.Name, other: _ColumnView | None = None) -> WhereError:
        start, end = self._span(node)
        raw = self.text[start:end]
        if other is not None and other.kind == "str" and _nfc(raw) in other.index:
            return self._error(
                f"unquoted value `{raw}` for {other.name}", node,
                hint=f"quote text values: {other.name} == '{raw}'", quote=False,
            )
        names = sorted(self.columns)
        close = difflib.get_close_matches(node.id, names, n=3, cutoff=0.5)
        hint = f"did you mean {' or '.join(close)}? " if close else ""
        hint += f"available columns: {_listing(names, 50)}"
        if other is not None and other.kind == "str":
            hint += f"\nif `{raw}` is a value of {other.name}, quote it: '{raw}'"
        return self._error(f"unknown column {raw!r}", node, hint=hint, quote=False)

    # -- expression tree --------------------------------------------------------------------------

    def _eval(self, node: ast.AST) -> _Rect:
        if isinstance(node, ast.BoolOp):
            rects = [self._eval(v) for v in node.values]
            if isinstance(node.op, ast.And):
                out: _Rect = {}
                for r in rects:
                    for k, m in r.items():
                        out[k] = out[k] & m if k in out else m
                return out
            return self._or(rects, node)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return self._not(self._eval(node.operand), node)
        if isinstance(node, ast.Compare):
            return self._compare(node)
        if isinstance(node, ast.Name):
            if node.id in self.by_ident:
                raise self._error(
                    "a column on its own is not a condition", node,
                    hint=f"compare it with a value, e.g. {self.by_ident[node.id]} == …",
                )
            raise self._unknown_column(node)
        if isinstance(node, (ast.Constant, ast.List, ast.Tuple, ast.Set)) or (
            isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd))
        ):
            raise self._error("a value on its own is not a condition", node,
                              hint="compare a column with it, e.g. sex == '여자'")
        raise self._unsupported(node)

    def _unsupported(self, node: ast.AST) -> WhereError:
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.BitAnd, ast.BitOr)):
            word = "and" if isinstance(node.op, ast.BitAnd) else "or"
            sym = "&" if word == "and" else "|"
            return self._error(f"operator {sym} is not supported", node,
                               hint=f"use `{word}` instead of {sym}")
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Invert):
            return self._error("operator ~ is not supported", node, hint="use `not` instead of ~")
        for kind, msg in _CONSTRUCTS.items():
            if isinstance(node, kind):
                return self._error(msg, node, hint=_ALLOWED)
        if isinstance(node, _COMPREHENSIONS):
            return self._error("comprehensions are not allowed", node,
                               hint="list the values: x in ['a', 'b']")
        what = type(node).__name__
        return self._error(f"unsupported construct ({what})", node, hint=_ALLOWED)

    # -- set algebra on product sets ---------------------------------------------------------------

    def _full(self, source: str) -> np.ndarray:
        return np.ones(self.cards[source], dtype=bool)

    def _not(self, r: _Rect, node: ast.AST) -> _Rect:
        if any(not m.any() for m in r.values()):  # empty set → everything
            return {k: self._full(k) for k in r}
        nontrivial = [k for k, m in r.items() if not m.all()]
        if not nontrivial:  # everything → empty set
            return {k: np.zeros_like(m) for k, m in r.items()}
        if len(nontrivial) > 1:
            raise self._error(
                f"`not` of a condition on several variables ({', '.join(nontrivial)}) cannot be "
                "expressed as per-variable evidence", node,
                hint="--where must reduce to one condition per variable joined by `and`; `not (A and B)` "
                     "is `not A or not B`, so split it into separate runs (e.g. `not A`, then `A and not B`)",
            )
        (s,) = nontrivial
        out = {k: self._full(k) for k in r}
        out[s] = ~r[s]
        return out

    def _or(self, rects: list[_Rect], node: ast.BoolOp) -> _Rect:
        keys = list(dict.fromkeys(k for r in rects for k in r))
        full = [{k: r.get(k, self._full(k)) for k in keys} for r in rects]
        alive = [r for r in full if all(m.any() for m in r.values())]
        if not alive:
            return full[0]

        def subset(a: _Rect, b: _Rect) -> bool:
            return all(not (a[k] & ~b[k]).any() for k in keys)

        changed = True
        while changed and len(alive) > 1:
            changed = False
            # drop alternatives contained in another
            for i, a in enumerate(alive):
                if any(j != i and subset(a, b) for j, b in enumerate(alive)):
                    del alive[i]
                    changed = True
                    break
            if changed:
                continue
            # merge two alternatives that differ on at most one variable
            for i in range(len(alive)):
                for j in range(i + 1, len(alive)):
                    a, b = alive[i], alive[j]
                    diff = [k for k in keys if not np.array_equal(a[k], b[k])]
                    if len(diff) <= 1:
                        merged = dict(a)
                        for k in diff:
                            merged[k] = a[k] | b[k]
                        alive[i] = merged
                        del alive[j]
                        changed = True
                        break
                if changed:
                    break
        if len(alive) == 1:
            return alive[0]
        involved = [k for k in keys if len({alive[i][k].tobytes() for i in range(len(alive))}) > 1]
        cols = {}
        for name, view in self.views.items():
            cols.setdefault(view.source, []).append(name)
        described = ", ".join(
            k if cols.get(k) == [k] else f"{k} (via {', '.join(c for c in cols.get(k, []) if c != k) or k})"
            for k in involved
        )
        raise self._error(
            f"`or` across different variables ({described}) cannot be expressed as per-variable evidence",
            node,
            hint="exact conditioning needs a conjunction of per-variable conditions; `or` may only combine "
                 "alternatives on the same variable (e.g. age < 20 or age > 60). Generate each alternative "
                 "in a separate run (make them disjoint if rows must not overlap, e.g. `A`, then "
                 "`not (A) and B`) and concatenate the outputs",
        )

    # -- comparisons ------------------------------------------------------------------------------

    def _compare(self, node: ast.Compare) -> _Rect:
        operands = [node.left, *node.comparators]
        out: _Rect = {}
        for left, op, right in zip(operands, node.ops, operands[1:]):
            source, mask = self._atom(left, op, right)
            out[source] = out[source] & mask if source in out else mask
        return out

    def _operand(self, node: ast.AST):
        """Classify a comparison operand: ('col', view) | ('name', node) | ('lit', value) | ('seq', node)."""
        if isinstance(node, ast.Name):
            if node.id in self.by_ident:
                return "col", self._view(self.by_ident[node.id])
            return "name", node
        if isinstance(node, ast.Constant):
            return "lit", node.value
        if (
            isinstance(node, ast.UnaryOp)
            and isinstance(node.op, (ast.USub, ast.UAdd))
            and isinstance(node.operand, ast.Constant)
            and isinstance(node.operand.value, (int, float))
            and not isinstance(node.operand.value, bool)
        ):
            v = node.operand.value
            return "lit", -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            return "seq", node
        raise self._unsupported(node)

    def _check_scalar(self, value: object, node: ast.AST) -> None:
        if isinstance(value, bool) or not isinstance(value, (str, int)) and value is not None:
            kind = "boolean" if isinstance(value, bool) else type(value).__name__
            raise self._error(f"unsupported literal ({kind})", node,
                              hint="values must be quoted strings ('여자') or integers (30)")

    def _atom(self, left: ast.AST, op: ast.cmpop, right: ast.AST) -> tuple[str, np.ndarray]:
        sym = _SYMBOL[type(op)]
        lk, lv = self._operand(left)
        rk, rv = self._operand(right)
        # unknown names: report as unknown columns, with a hint when it looks like an unquoted value
        if lk == "name":
            raise self._unknown_column(lv, rv if rk == "col" else None)
        if rk == "name":
            raise self._unknown_column(rv, lv if lk == "col" else None)
        if lk == "col" and rk == "col":
            raise self._error("a comparison must involve one column and literal values, not two columns",
                              left, right)
        if lk != "col" and rk != "col":
            raise self._error("comparison involves no column", left, right,
                              hint=f"available columns: {_listing(sorted(self.columns), 50)}")

        if isinstance(op, (ast.In, ast.NotIn)):
            if lk != "col":
                col = rv
                raise self._error(f"`{sym}` needs the column on the left", left, right,
                                  hint=f"write {col.name} == … or {col.name} {sym} [...]")
            col = lv
            if rk != "seq":
                examples = ", ".join(map(_literal_repr, self._examples(col)))
                raise self._error(f"`{sym}` needs a list of values", right,
                                  hint=f"e.g. {col.name} {sym} [{examples}]")
            values = []
            for elt in right.elts:
                k, v = self._operand(elt)
                if k != "lit":
                    if k == "name":
                        raise self._unknown_column(v, col)
                    raise self._error("list elements must be literal values", elt)
                self._check_scalar(v, elt)
                if v is None:
                    raise self._error("None in a value list is not supported", elt,
                                      hint=f"use `{col.name} is None` joined with `or`")
                values.append(self._coerce(col, v, elt, sym))
            return col.source, self._member(col, values, negate=isinstance(op, ast.NotIn))

        if rk == "seq" or lk == "seq":
            seq = right if rk == "seq" else left
            raise self._error(f"cannot compare with a list using {sym}", seq,
                              hint="use `in` / `not in` for lists of values")

        if lk == "col":
            col, value, lit_node = lv, rv, right
        else:
            col, value, lit_node = rv, lv, left
            op = _FLIP.get(type(op), type(op))()  # ==, !=, is, is not are symmetric

        if isinstance(op, (ast.Is, ast.IsNot)):
            if value is not None:
                raise self._error(f"`{sym}` only compares with None", left, right,
                                  hint=f"use == / != for values: {col.name} {'==' if sym == 'is' else '!='} "
                                       f"{_literal_repr(value)}")
            mask = ~col.valid if isinstance(op, ast.Is) else col.valid.copy()
            return col.source, mask

        self._check_scalar(value, lit_node)
        if value is None:
            raise self._error(f"cannot compare with None using {sym}", left, right,
                              hint=f"use `{col.name} is None` or `{col.name} is not None`")
        value = self._coerce(col, value, lit_node, sym, left, right)
        if isinstance(op, _ORDER) and col.kind == "str":
            raise self._error(f"type mismatch: cannot order text column {col.name} with {sym}", left, right,
                              hint="text columns support ==, !=, in, not in")
        return col.source, self._scalar(col, op, value)

    def _examples(self, col: _ColumnView) -> list:
        if col.kind == "str":
            return col.labels[:2] or ["…"]
        return [col.lo, col.hi] if col.lo != col.hi else [col.lo]

    def _coerce(self, col: _ColumnView, value, node: ast.AST, sym: str,
                first: ast.AST | None = None, last: ast.AST | None = None):
        """Type-check a literal against a column; return the normalised value (label index or int)."""
        first, last = first or node, last or node
        if col.kind == "int":
            if isinstance(value, str):
                hint = f"compare {col.name} with a number"
                if re.fullmatch(r"\s*[+-]?\d+\s*", value):
                    hint += f": {col.name} {sym} {int(value)}"
                raise self._error(f"type mismatch: {col.name} is {col.kind_words} but got text "
                                  f"{_literal_repr(value)}", first, last, hint=hint)
            return int(value)
        if not isinstance(value, str):
            raise self._error(f"type mismatch: {col.name} is {col.kind_words} but got number {value!r}",
                              first, last, hint=f"quote text values: {col.name} {sym} '{value}'")
        label = _nfc(value)
        if label not in col.index:
            close = _close(label, col.labels)
            hint = (f"did you mean {', '.join(map(_literal_repr, close))}? " if close else "")
            hint += f"known: {_listing(col.labels)}"
            raise self._error(f"unknown value {_literal_repr(label)} for {col.name}", node, hint=hint,
                              quote=False)
        return col.index[label]

    def _scalar(self, col: _ColumnView, op: ast.cmpop, value: int) -> np.ndarray:
        if col.kind == "str":
            eq = col.inverse == value
            return eq if isinstance(op, ast.Eq) else (~eq & col.valid)
        # clamp out-of-range literals: preserves every comparison and avoids int64 overflow
        v = min(max(value, col.lo - 1), col.hi + 1)
        a = col.ints
        res = {ast.Eq: a == v, ast.NotEq: a != v, ast.Lt: a < v, ast.LtE: a <= v,
               ast.Gt: a > v, ast.GtE: a >= v}[type(op)]
        return res & col.valid

    def _member(self, col: _ColumnView, values: list[int], negate: bool) -> np.ndarray:
        if col.kind == "str":
            hit = np.isin(col.inverse, np.array(values, dtype=np.int64))
        else:
            inside = [v for v in values if col.lo <= v <= col.hi]
            hit = np.isin(col.ints, np.array(inside, dtype=np.int64))
        return (~hit if negate else hit) & col.valid
