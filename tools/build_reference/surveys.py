"""Real Korean survey results by demographic group, for validating silicon surveys (``ingu survey --validate``).

Three long tables in one format (survey, year, question_id, question_ko, answer, group_var, group_value,
share, n, universe, source_url, note, source_kind), copied from the data drop's ``surveys/`` folder. Every
row keeps its origin in ``source_kind`` and ``source_url``; the drop's MANIFEST and evidence excerpts are
copied to ``docs/survey-data.md`` and ``docs/survey-evidence.md``.

- ``survey_kgss_by_group``: KGSS 2014 and 2016 answer distributions by sex and age band, FINALWT-weighted,
  computed from the public KGSS 2003–2016 cumulative microdata by the drop's research helper (not printed
  anywhere; the 2016 totals reproduce the KGSS codebook to ±0.1 pt); and KGSS 2023 from the simqi
  complete-case subsample (unweighted, skewed female: indicative only).
- ``survey_kgss_national``: KGSS national answer distributions 2003–2023 (codebook transcription).
- ``survey_published_by_group``: 사회조사 / Gallup Korea / Hankook Research figures by group as printed,
  mostly one answer per group (incomplete distributions).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from tools.build_reference.common import write_table

COLUMNS = ["survey", "year", "question_id", "question_ko", "answer", "group_var", "group_value", "share", "n",
           "universe", "source_url", "note", "source_kind"]
KGSS_CITE = "김지범 외, 한국종합사회조사(KGSS) — 성균관대학교 서베이리서치센터"


def _read(path: Path) -> pl.DataFrame:
    df = pl.read_csv(path, infer_schema_length=0)
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise SystemExit(f"{path}: missing columns {missing}")
    return df.select(COLUMNS)


def build(src: Path, out: Path) -> list[dict]:
    folder = src / "surveys"
    by_group = _read(folder / "derived" / "kgss_microdata_by_group.csv")
    national = _read(folder / "kgss_silicon_sampling" / "kgss_codebook_marginals_long.csv")
    published = _read(folder / "published_by_group.csv")
    return [
        write_table(by_group, out, {
            "id": "survey_kgss_by_group",
            "title": "KGSS answer distributions by sex and age band: 2014, 2016 (weighted); 2023 subsample",
            "agency": "KGSS (Korean General Social Survey), Survey Research Center, Sungkyunkwan University",
            "table_id": "KGSS 2003–2016 cumulative microdata (SATFIN, CONFINAN, CONLEGIS, PARTYLR, NORTHWHO, "
                        "UNIFI, KRPROUD); KGSS 2023 simqi kgss_sample",
            "year": "2014, 2016, 2023",
            "universe": "KGSS respondents aged 18+ (2014, 2016: FINALWT-weighted, DK (−8) in the denominator); "
                        "2023: complete cases of a public subsample (1,123 of 1,230), unweighted",
            "unit": "percent of the group (as computed, 0.1 pt); n = unweighted respondents in the group",
            "licence": "Derived from public KGSS microdata (repackaged by mrchypark/KGSS, labelled CC0; the "
                       "2023 subsample from svmiller/simqi, GPL-2); cite KGSS",
            "attribution": KGSS_CITE,
            "upstream_path": "surveys/derived/kgss_microdata_by_group.csv (computed from "
                             "github:mrchypark/KGSS@b5d6d6c4d9c84b913051dc9bfe75f6b709c88641:data/kgss.rda and "
                             "github:svmiller/simqi@0508e5d70f06dc00cc558d261e13dccc694de045:data/kgss_sample.rda)",
            "notes": "Crosstabs computed by the data drop's helper, not printed by KGSS: the 2016 totals "
                     "reproduce the KGSS codebook marginals within 0.1 pt. Region and education of 2014/2016 "
                     "were not used (no codebook to confirm labels). The 2023 rows (survey 'KGSS 2023 (simqi "
                     "kgss_sample …)') are an unweighted, female-skewed complete-case subsample: indicative only.",
        }),
        write_table(national, out, {
            "id": "survey_kgss_national",
            "title": "KGSS national answer distributions 2003–2023 (7 questions), codebook transcription",
            "agency": "KGSS (Korean General Social Survey), Survey Research Center, Sungkyunkwan University",
            "table_id": "KGSS cumulative codebook frequency tables (SATFIN, CONFINAN, CONLEGIS, PARTYLR, "
                        "NORTHWHO, UNIFI, KRPROUD)",
            "year": "2003–2023",
            "universe": "KGSS respondents aged 18+; FINALWT-weighted percent, DK (−8) in the denominator",
            "unit": "percent (as transcribed); n = the year's respondents",
            "licence": "Transcribed KGSS codebook figures (LeeSeogMin/sililcon_sampling, then MIT); cite KGSS",
            "attribution": KGSS_CITE,
            "upstream_path": "surveys/kgss_silicon_sampling/kgss_codebook_marginals_long.csv (from "
                             "github:LeeSeogMin/sililcon_sampling@b314c902cea88791fc3ce2f26fc6bd53913ac9fa:"
                             "data/kggs.md)",
            "notes": "year '03-07' is pooled 2003–2007 and '전체' pooled 2003–2023. The transcription's claim "
                     "'valid-response, unweighted' is wrong: rows sum to 100 with −8 and match weighted "
                     "microdata. National only.",
        }),
        write_table(published, out, {
            "id": "survey_published_by_group",
            "title": "Survey figures by group as published: KOSTAT 사회조사, Gallup Korea, Hankook Research",
            "agency": "Statistics Korea (사회조사); Gallup Korea; Hankook Research — as printed by news, "
                      "e-나라지표 or the pollster",
            "table_id": "see source_url per row",
            "year": "2019–2025",
            "universe": "see the universe column per row (사회조사: 13+ or 19+; polls: 18+)",
            "unit": "percent as printed (source rounding kept)",
            "licence": "Published figures quoted for research with their sources; KOSTAT figures KOGL type 1",
            "attribution": "통계청 「사회조사」; 한국갤럽; 한국리서치 — per row",
            "upstream_path": "surveys/published_by_group.csv (hand-copied; evidence in docs/survey-evidence.md)",
            "notes": "Second-hand copies (news quoting releases). Most groups carry one answer category, so "
                     "distributions are incomplete: only complete ones (shares summing to 100 ± 1.5) are "
                     "used as validation targets.",
        }),
    ]
