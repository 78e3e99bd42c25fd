"""``--where`` parsing into per-variable evidence masks (ingu.sample.where)."""

from __future__ import annotations

import unicodedata

import numpy as np
import pytest

from ingu.sample.where import Column, WhereError, parse_where

DISTRICTS = ["서울-강남구", "서울-종로구", "부산-해운대구", "부산-중구", "대구-중구"]
AGES = np.arange(19, 100, dtype=np.int64)
EDUCATION = ["중졸이하", "고졸", "대졸", "대학원"]
OCC_CODES = ["11", "23", "31", "32", None]  # last code: not employed → null derived columns
OCC_NULL = np.array([False, False, False, False, True])


def _obj(items) -> np.ndarray:
    return np.array(list(items), dtype=object)


@pytest.fixture()
def cols() -> dict[str, Column]:
    return {
        "sex": Column("sex", "sex", _obj(["남자", "여자"])),
        "age": Column("age", "age", AGES),
        "birth_year": Column("birth_year", "age", 2025 - AGES),
        "district": Column("district", "district", _obj(DISTRICTS)),
        "province": Column("province", "district", _obj(d.split("-")[0] for d in DISTRICTS)),
        "education_level": Column("education_level", "education_level", _obj(EDUCATION)),
        "occupation_code": Column("occupation_code", "occupation", _obj(OCC_CODES), OCC_NULL),
        "occupation_major": Column(
            "occupation_major", "occupation", _obj(c[0] if c else None for c in OCC_CODES), OCC_NULL
        ),
        "military_status": Column(
            "military_status", "military", _obj(["현역", "보충역", "면제", "해당없음"])
        ),
        "surname": Column("surname", "surname", _obj(["김", "이", "박", "최"])),
    }


def _age(lo: int, hi: int) -> np.ndarray:
    """Mask over AGES for lo <= age < hi."""
    return (AGES >= lo) & (AGES < hi)


def _codes(n: int, *idx: int) -> np.ndarray:
    m = np.zeros(n, dtype=bool)
    m[list(idx)] = True
    return m


def _assert_evidence(got: dict[str, np.ndarray], want: dict[str, np.ndarray]) -> None:
    assert set(got) == set(want)
    for k, m in want.items():
        assert got[k].dtype == bool
        np.testing.assert_array_equal(got[k], m, err_msg=k)


# --------------------------------------------------------------------------------------------------
# accepted expressions


def test_brief_example(cols):
    ev = parse_where("sex == '여자' and 30 <= age < 40 and province == '부산'", cols)
    _assert_evidence(ev, {"sex": _codes(2, 1), "age": _age(30, 40), "district": _codes(5, 2, 3)})


def test_chained_comparisons_and_literal_on_left(cols):
    _assert_evidence(parse_where("30 <= age < 40", cols), {"age": _age(30, 40)})
    _assert_evidence(parse_where("40 > age >= 30", cols), {"age": _age(30, 40)})
    _assert_evidence(parse_where("65 <= age", cols), {"age": AGES >= 65})
    _assert_evidence(parse_where("age > -5 and age != 19", cols), {"age": AGES != 19})


def test_in_and_not_in(cols):
    _assert_evidence(parse_where("occupation_major in ['2', '3']", cols), {"occupation": _codes(5, 1, 2, 3)})
    _assert_evidence(parse_where("surname in ('김', '박')", cols), {"surname": _codes(4, 0, 2)})
    _assert_evidence(parse_where("age in {30, 31, 500}", cols), {"age": np.isin(AGES, [30, 31])})
    # not in: nulls compare False
    _assert_evidence(parse_where("occupation_major not in ['2']", cols), {"occupation": _codes(5, 0, 2, 3)})
    _assert_evidence(parse_where("age in []", cols), {"age": np.zeros(len(AGES), bool)})


def test_not_and_inequality(cols):
    _assert_evidence(parse_where("not (age < 25)", cols), {"age": AGES >= 25})
    _assert_evidence(
        parse_where("education_level != '대학원'", cols), {"education_level": _codes(4, 0, 1, 2)}
    )
    _assert_evidence(parse_where("not not sex == '남자'", cols), {"sex": _codes(2, 0)})
    # not of a multi-column expression that constrains one variable only
    _assert_evidence(parse_where("not (age >= 30 and age < 40)", cols), {"age": ~_age(30, 40)})


def test_same_source_or(cols):
    _assert_evidence(parse_where("age < 20 or age >= 95", cols), {"age": (AGES < 20) | (AGES >= 95)})
    # different columns, same source variable: exact
    _assert_evidence(
        parse_where("province == '부산' or district == '서울-강남구'", cols),
        {"district": _codes(5, 0, 2, 3)},
    )
    _assert_evidence(parse_where("age < 25 or birth_year <= 1950", cols), {"age": (AGES < 25) | (AGES >= 75)})
    # alternatives that differ on one variable only are still a product set
    _assert_evidence(
        parse_where("(sex == '남자' and age < 30) or (sex == '남자' and age >= 60)", cols),
        {"sex": _codes(2, 0), "age": (AGES < 30) | (AGES >= 60)},
    )
    _assert_evidence(
        parse_where("sex == '여자' and (age < 30 or age >= 60)", cols),
        {"sex": _codes(2, 1), "age": (AGES < 30) | (AGES >= 60)},
    )


def test_derived_column_lands_on_source(cols):
    _assert_evidence(parse_where("province == '서울'", cols), {"district": _codes(5, 0, 1)})
    _assert_evidence(parse_where("birth_year >= 1990", cols), {"age": 2025 - AGES >= 1990})
    # two derived columns of one source combine by AND
    _assert_evidence(
        parse_where("province == '부산' and district != '부산-중구'", cols), {"district": _codes(5, 2)}
    )


def test_other_brief_examples(cols):
    _assert_evidence(parse_where("district == '서울-강남구'", cols), {"district": _codes(5, 0)})
    _assert_evidence(parse_where("military_status == '현역'", cols), {"military": _codes(4, 0)})
    _assert_evidence(parse_where("surname == '김'", cols), {"surname": _codes(4, 0)})


def test_nullable_is_none(cols):
    _assert_evidence(parse_where("occupation_code is None", cols), {"occupation": _codes(5, 4)})
    _assert_evidence(parse_where("occupation_code is not None", cols), {"occupation": _codes(5, 0, 1, 2, 3)})
    _assert_evidence(parse_where("None is occupation_major", cols), {"occupation": _codes(5, 4)})
    # nulls compare False under != ; `not` is the plain complement and includes them
    _assert_evidence(parse_where("occupation_major != '3'", cols), {"occupation": _codes(5, 0, 1)})
    _assert_evidence(parse_where("not occupation_major == '3'", cols), {"occupation": _codes(5, 0, 1, 4)})
    _assert_evidence(
        parse_where("occupation_code is None or occupation_major == '1'", cols),
        {"occupation": _codes(5, 0, 4)},
    )


def test_unsatisfiable_is_all_false_not_an_error(cols):
    _assert_evidence(parse_where("age > 200", cols), {"age": np.zeros(len(AGES), bool)})
    _assert_evidence(parse_where("age < 30 and age > 40", cols), {"age": np.zeros(len(AGES), bool)})
    # huge literals do not overflow int64
    _assert_evidence(parse_where(f"age < {10**30}", cols), {"age": np.ones(len(AGES), bool)})


def test_korean_normalisation_and_whitespace(cols):
    nfd = unicodedata.normalize("NFD", "sex == '여자' and province == '부산'")
    assert nfd != unicodedata.normalize("NFC", nfd)
    _assert_evidence(parse_where(nfd, cols), {"sex": _codes(2, 1), "district": _codes(5, 2, 3)})
    # labels stored decomposed also match
    nfd_labels = _obj(unicodedata.normalize("NFD", s) for s in ["남자", "여자"])
    decomposed = {"sex": Column("sex", "sex", nfd_labels)}
    _assert_evidence(parse_where("sex == '여자'", decomposed), {"sex": _codes(2, 1)})
    # leading whitespace and line breaks (multi-line shell input) are fine
    _assert_evidence(
        parse_where("  sex == '여자'\n  and age < 30\n", cols), {"sex": _codes(2, 1), "age": AGES < 30}
    )


def test_korean_column_names():
    cols = {"성별": Column("성별", "sex", _obj(["남자", "여자"]))}
    _assert_evidence(parse_where("성별 == '남자'", cols), {"sex": _codes(2, 0)})


def test_masks_are_fresh_arrays(cols):
    ev = parse_where("age >= 0", cols)
    ev["age"][:] = False
    assert parse_where("age >= 0", cols)["age"].all()


# --------------------------------------------------------------------------------------------------
# errors


def _err(expr: str, cols) -> WhereError:
    with pytest.raises(WhereError) as info:
        parse_where(expr, cols)
    assert isinstance(info.value, ValueError)
    return info.value


def test_cross_source_or_is_rejected(cols):
    e = _err("sex == '여자' or age < 30", cols)
    msg = str(e)
    assert "`or` across different variables" in msg and "sex" in msg and "age" in msg
    assert "separate run" in msg
    assert e.offset == 0 and e.fragment == "sex == '여자' or age < 30"
    # also nested, and through derived columns
    e = _err("age < 30 and (province == '부산' or sex == '남자')", cols)
    assert "district" in str(e) and "province" in str(e)
    assert e.fragment == "province == '부산' or sex == '남자'" and e.offset == 14


def test_not_across_sources_is_rejected(cols):
    e = _err("not (sex == '남자' and age < 30)", cols)
    assert "`not`" in str(e) and "several variables" in str(e)


def test_unknown_column_suggests(cols):
    e = _err("sex == '여자' and provnce == '부산'", cols)
    msg = str(e)
    assert "unknown column 'provnce'" in msg and "did you mean province" in msg
    assert "available columns" in msg and "birth_year" in msg
    assert e.offset == 16 and e.fragment == "provnce"
    assert "column 17" in msg


def test_unknown_value_suggests(cols):
    e = _err("province == '부산광역시'", cols)
    msg = str(e)
    assert "unknown value '부산광역시' for province" in msg
    assert "did you mean '부산'" in msg and "known: 서울, 부산, 대구" in msg
    assert e.fragment == "'부산광역시'" and e.offset == 12
    e = _err("occupation_major in ['2', '9']", cols)
    assert "unknown value '9' for occupation_major" in str(e) and e.fragment == "'9'"
    e = _err("district == '강남구'", cols)
    assert "'서울-강남구'" in str(e)


def test_unquoted_value_hint(cols):
    e = _err("province == 부산", cols)
    assert "unquoted value" in str(e) and "province == '부산'" in str(e)


@pytest.mark.parametrize(
    "expr, needle",
    [
        ("len(sex) == 2", "function calls are not allowed"),
        ("sex.lower() == '남자'", "function calls are not allowed"),
        ("sex.upper == '남자'", "attribute access is not allowed"),
        ("age + 1 > 30", "arithmetic is not allowed"),
        ("age > 3 * 10", "arithmetic is not allowed"),
        ("f'{age}' == '3'", "f-strings are not allowed"),
        ("sex[0] == '남'", "indexing is not allowed"),
        ("age > 3 & sex == '남자'", "use `and`"),
        ("~(age > 3)", "use `not`"),
        ("age == birth_year", "not two columns"),
        ("1 == 1", "no column"),
        ("sex", "a column on its own is not a condition"),
        ("'여자'", "a value on its own is not a condition"),
        ("age == 30.5", "unsupported literal (float)"),
        ("age == True", "unsupported literal (boolean)"),
        ("age == None", "age is None"),
        ("age is 3", "`is` only compares with None"),
        ("sex in '남자'", "needs a list of values"),
        ("'남자' in sex", "column on the left"),
        ("age == [30, 31]", "use `in`"),
        ("age in [x for x in y]", "comprehensions are not allowed"),
        ("foo == 1", "unknown column 'foo'"),
    ],
)
def test_unsupported_constructs(cols, expr, needle):
    assert needle in str(_err(expr, cols))


def test_function_call_error_points_at_call(cols):
    e = _err("sex == '여자' and len(sex) == 2", cols)
    assert e.fragment == "len(sex)" and e.offset == 16 and "column 17" in str(e)


def test_type_mismatch(cols):
    e = _err("sex == 1", cols)
    assert "type mismatch" in str(e) and "text column" in str(e) and "'1'" in str(e)
    e = _err("age == '30'", cols)
    assert "type mismatch" in str(e) and "integer column" in str(e) and "age == 30" in str(e)
    e = _err("province < '부산'", cols)
    assert "type mismatch" in str(e) and "cannot order text column province" in str(e)
    e = _err("occupation_major in ['2', 3]", cols)
    assert "type mismatch" in str(e)


@pytest.mark.parametrize("expr", ["", "   ", "\n\t"])
def test_empty_expression(cols, expr):
    assert "empty" in str(_err(expr, cols))


@pytest.mark.parametrize(
    "expr, hint",
    [
        ("sex = '여자'", "use =="),
        ("sex == '여자' AND age < 30", "lower case"),
        ("sex == '여자' && age < 30", "instead of &&"),
        ("province == ‘부산’", "straight quotes"),
        ("age >", "syntax error"),
        ("age BETWEEN 30 AND 40", "chained comparisons"),
        ("(age > 3", "syntax error"),
    ],
)
def test_syntax_errors(cols, expr, hint):
    e = _err(expr, cols)
    assert "syntax error" in str(e) and hint in str(e)
    assert e.offset is not None


def test_syntax_error_offset_counts_characters(cols):
    e = _err("sex == '여자' AND age < 30", cols)
    assert e.offset == 12 and e.fragment == "AND"


# --------------------------------------------------------------------------------------------------
# soundness: whenever parsing succeeds, the product of the masks is exactly the set the expression
# describes (checked by brute force over the joint of two variables on random expressions)


def test_random_expressions_are_exact_or_rejected():
    rng = np.random.default_rng(2025)
    a_vals = np.arange(6, dtype=np.int64)
    cols = {
        "a": Column("a", "A", a_vals),
        "a_parity": Column("a_parity", "A", _obj("짝" if v % 2 == 0 else "홀" for v in a_vals)),
        "b": Column("b", "B", _obj(["가", "나", "다"])),
    }

    def atom() -> str:
        c = rng.integers(3)
        if c == 0:
            op = rng.choice(["==", "!=", "<", "<=", ">", ">="])
            return f"a {op} {rng.integers(-1, 8)}"
        if c == 1:
            return f"a_parity {rng.choice(['==', '!='])} '{rng.choice(['짝', '홀'])}'"
        vals = ", ".join(f"'{v}'" for v in rng.choice(["가", "나", "다"], size=rng.integers(1, 3)))
        return f"b {rng.choice(['in', 'not in'])} [{vals}]"

    def expr(depth: int) -> str:
        r = rng.random()
        if depth == 0 or r < 0.3:
            return atom()
        if r < 0.45:
            return f"not ({expr(depth - 1)})"
        return f"({expr(depth - 1)}) {rng.choice(['and', 'or'])} ({expr(depth - 1)})"

    accepted = rejected = 0
    for _ in range(400):
        e = expr(3)
        truth = np.array(
            [
                [eval(e, {}, {"a": int(a_vals[i]), "a_parity": cols["a_parity"].values[i], "b": b})  # noqa: S307
                 for b in ["가", "나", "다"]]
                for i in range(6)
            ]
        )
        try:
            ev = parse_where(e, cols)
        except WhereError as err:
            assert "cannot be expressed as per-variable evidence" in str(err), e
            rejected += 1
            continue
        accepted += 1
        got = ev.get("A", np.ones(6, bool))[:, None] & ev.get("B", np.ones(3, bool))[None, :]
        np.testing.assert_array_equal(got, truth, err_msg=e)
    assert accepted > 100 and rejected > 20
