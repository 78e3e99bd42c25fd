"""The runtime reference API: manifest, integrity check, user cache, errors, vocabularies."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest

import ingu.reference.manifest as manifest_module
from ingu.reference import (
    ReferenceIntegrityError,
    TableEntry,
    UnknownTableError,
    cache_dir,
    describe_table,
    list_tables,
    load_manifest,
    load_table,
    table_entry,
)
from ingu.reference.vocab import District, Province, districts, neighbourhoods, provinces, vocabulary


@pytest.fixture(autouse=True)
def user_cache(tmp_path, monkeypatch) -> Path:
    """An empty user cache for every test (a developer's ~/.cache must not leak in)."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("INGU_CACHE_DIR", str(folder))
    return folder


@pytest.fixture
def shipped_copy(tmp_path, monkeypatch) -> Path:
    """A private copy of the shipped data folder, installed as the package's data dir."""
    copy = tmp_path / "data"
    shutil.copytree(manifest_module.data_dir(), copy)
    monkeypatch.setattr(manifest_module, "data_dir", lambda: copy)
    return copy


def _cache_table(folder: Path, table_id: str, df: pl.DataFrame, **fields) -> None:
    """What ``ingu reference fetch`` writes: ``<id>.csv`` and its manifest entry ``<id>.json``."""
    folder.mkdir(parents=True, exist_ok=True)
    df.write_csv(folder / f"{table_id}.csv")
    entry = {
        "id": table_id, "title": f"{table_id} (refreshed)", "agency": "통계청", "table_id": "DT_TEST",
        "year": 2025, "universe": "test", "unit": "category", "licence": "KOGL type 1", "attribution": "통계청",
        "upstream_path": "KOSIS OpenAPI", "notes": "refreshed", "file": f"{table_id}.csv", "rows": df.height,
        "columns": df.columns, "sha256": "0" * 64, **fields,
    }
    (folder / f"{table_id}.json").write_text(json.dumps(entry, ensure_ascii=False), "utf-8")


def test_manifest_entries_are_validated_and_keep_extra_fields():
    entries = load_manifest()
    assert all(isinstance(e, TableEntry) for e in entries)
    ids = [e.id for e in entries]
    assert ids == sorted(ids) and len(ids) == len(set(ids))
    pop = table_entry("pop_mois_2024_district_sex_age5")
    assert pop.agency == "행정안전부" and pop.unit == "persons" and len(pop.sha256) == 64
    assert isinstance(pop.extra("upstream_sha256") or pop.upstream_sha256, dict)
    assert pop.extra("national_total") > 50_000_000


def test_code_columns_stay_strings_and_frames_are_cached():
    df = load_table("vocab_district")
    assert df.schema["adm_code10"] == pl.Utf8 and df.schema["sgg_code5"] == pl.Utf8
    assert df.schema["code"] == pl.Int64 and df.schema["province_code"] == pl.Int64
    assert load_table("vocab_province")["sido_code"][0] == "11"
    assert load_table("vocab_district") is df


def test_unknown_table_is_a_key_error_listing_known_ids():
    with pytest.raises(KeyError) as info:
        load_table("vocab_nonexistent")
    assert isinstance(info.value, UnknownTableError)
    message = str(info.value)
    assert "vocab_nonexistent" in message
    assert "vocab_district" in message and "pop_mois_2024_district_sex_age5" in message
    with pytest.raises(UnknownTableError):
        table_entry("vocab_nonexistent")


def test_untampered_copy_loads(shipped_copy):
    assert load_table("vocab_province").height == 17


def test_tampered_shipped_file_fails_its_checksum(shipped_copy):
    path = shipped_copy / "pop_mois_2024_district_sex_age5.csv"
    text = path.read_text("utf-8")
    path.write_text(text.replace("\n0,M,0-4,0,4,", "\n0,M,0-4,0,4,9", 1), "utf-8")
    with pytest.raises(ReferenceIntegrityError, match="pop_mois_2024_district_sex_age5.csv"):
        load_table("pop_mois_2024_district_sex_age5")
    # Other, intact files of the same copy still load.
    assert load_table("vocab_district").height == 252


def test_cache_is_preferred_when_csv_and_entry_exist(user_cache):
    shipped = load_table("vocab_province")
    refreshed = shipped.head(3).with_columns(pl.col("name_en").str.to_uppercase())
    _cache_table(user_cache, "vocab_province", refreshed)
    assert cache_dir() == user_cache
    got = load_table("vocab_province")
    assert got.height == 3 and got["name_en"][0] == "SEOUL"
    assert got.schema["sido_code"] == pl.Utf8  # same dtype rules as shipped tables
    assert table_entry("vocab_province").title == "vocab_province (refreshed)"
    sources = dict(list_tables().select("id", "source").iter_rows())
    assert sources["vocab_province"] == "cache" and sources["vocab_district"] == "shipped"


def test_cache_csv_without_its_entry_is_ignored(user_cache):
    user_cache.mkdir(parents=True)
    load_table("vocab_province").head(2).write_csv(user_cache / "vocab_province.csv")
    assert load_table("vocab_province").height == 17


def test_cache_can_add_a_table_that_is_not_shipped(user_cache):
    _cache_table(user_cache, "vocab_test_only", pl.DataFrame({"code": [1, 0], "label": ["b", "a"]}))
    assert "vocab_test_only" in list_tables()["id"].to_list()
    assert vocabulary("test_only") == ["a", "b"]


def test_cache_dir_defaults_to_the_user_cache(monkeypatch):
    monkeypatch.delenv("INGU_CACHE_DIR")
    assert cache_dir() == Path.home() / ".cache" / "ingu" / "reference"


def test_vocab_accessors_are_typed_and_ordered():
    provs = provinces()
    assert len(provs) == 17 and all(isinstance(p, Province) for p in provs)
    assert provs[0] == Province(0, "11", "서울특별시", "서울", "Seoul")
    dists = districts()
    assert len(dists) == 252 and isinstance(dists[0], District)
    assert [d.code for d in dists] == list(range(252))
    assert vocabulary("province")[:3] == ["서울", "부산", "대구"]
    assert vocabulary("vocab_district") == [d.npk_label for d in dists]
    gangnam = next(d for d in dists if d.npk_label == "서울-강남구")
    assert "압구정동" in neighbourhoods(gangnam.code)


def test_vocabulary_rejects_gaps_in_codes(user_cache):
    _cache_table(user_cache, "vocab_gappy", pl.DataFrame({"code": [0, 2], "label": ["a", "c"]}))
    with pytest.raises(ValueError, match="contiguous"):
        vocabulary("gappy")


def test_describe_table_reports_provenance():
    text = describe_table("pop_mois_2024_district_sex_age5")
    for fragment in ("행정안전부", "licence", "upstream", "10,584", "shipped", "100+"):
        assert fragment in text, fragment
