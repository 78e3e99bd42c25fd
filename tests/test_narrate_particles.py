"""Particles are chosen by the last syllable's final consonant, with the ㄹ exception for 으로."""

import pytest

from ingu.narrate.particles import attach, final_consonant


@pytest.mark.parametrize(("word", "particle", "expected"), [
    ("간호사", "을", "간호사를"), ("회계사무원", "을", "회계사무원을"), ("김민준", "는", "김민준은"),
    ("이서연", "은", "이서연은"), ("서울", "으로", "서울로"), ("부산", "로", "부산으로"), ("제주", "으로", "제주로"),
    ("등산", "와", "등산과"), ("요리", "과", "요리와"), ("교사", "이", "교사가"), ("공무원", "가", "공무원이"),
    ("지하철", "으로", "지하철로"), ("공무원", "으로서", "공무원으로서"), ("주부", "으로서", "주부로서"),
    ("독서", "이나", "독서나"), ("산책", "나", "산책이나"), ("ICT", "는", "ICT는"), ("3", "이", "3이"),
    ("2", "을", "2를"), ("영화(액션)", "를", "영화(액션)를"),
])
def test_attach_picks_the_form_by_final_consonant(word: str, particle: str, expected: str) -> None:
    assert attach(word, particle) == expected


def test_final_consonant_reads_the_last_syllable() -> None:
    assert final_consonant("가") == 0
    assert final_consonant("각") == 1
    assert final_consonant("갈") == 8
    assert final_consonant("서울 ") == 8  # trailing space skipped


def test_unknown_particle_is_appended_unchanged() -> None:
    assert attach("학교", "에서") == "학교에서"
