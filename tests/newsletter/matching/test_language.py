"""The interest language, rule by rule, on real papers from the corpus (ids are the corpus's `seed-NNNN`)."""

from __future__ import annotations

import dataclasses

from newsletter.matching import PaperRecord, match_papers
from newsletter.matching.records import load_papers
from newsletter.matching.reference import reference_match_papers
from tests.conftest import FIXTURES

CORPUS = load_papers(FIXTURES / "corpus" / "papers.jsonl")
BY_ID = {p.id: p for p in CORPUS}

SPLATTING = {
    "seed-0053", "seed-0058", "seed-0061", "seed-0062", "seed-0063", "seed-0068", "seed-0069", "seed-0306",
}  # fmt: skip
TEXT_TO_SPEECH = {
    "seed-0313", "seed-0383", "seed-0384", "seed-0406", "seed-0427",
    "seed-0449", "seed-0450", "seed-0471", "seed-0523", "seed-0526",
}  # fmt: skip
SELF_SUPERVISED = {
    "seed-0050", "seed-0051", "seed-0097", "seed-0129", "seed-0313", "seed-0316", "seed-0321",
    "seed-0391", "seed-0431", "seed-0451", "seed-0463", "seed-0487", "seed-0491", "seed-0503",
    "seed-0505", "seed-0506", "seed-0507", "seed-0515", "seed-0546", "seed-0555",
}  # fmt: skip


def matched(interest: str, papers: list[PaperRecord] = CORPUS) -> set:
    """Ids the engine matches; the reference evaluator must say exactly the same."""
    found = {m.paper_id for m in match_papers([interest], papers)}
    assert found == {m.paper_id for m in reference_match_papers([interest], papers)}
    return found


def with_extras(paper_id: str, **changes: object) -> PaperRecord:
    """A corpus paper with synthetic authors / AI keywords (the corpus has none)."""
    return dataclasses.replace(BY_ID[paper_id], **changes)


def test_words_are_all_required_anywhere_in_title_or_abstract():
    assert matched("speech recognition") == {
        "seed-0007", "seed-0118", "seed-0159", "seed-0400", "seed-0503", "seed-0507",
        "seed-0515", "seed-0516", "seed-0526", "seed-0548", "seed-0571",
    }  # fmt: skip


def test_phrase_needs_its_words_adjacent_and_in_order():
    assert matched('"speech recognition"') == {
        "seed-0118", "seed-0159", "seed-0503", "seed-0507", "seed-0515", "seed-0516", "seed-0526",
        "seed-0548", "seed-0571",
    }  # fmt: skip
    assert matched('"recognition speech"') == set()


def test_phrase_does_not_run_across_title_and_abstract():
    # seed-0001's title ends with "Understanding" and its abstract starts with "Auditory".
    assert "seed-0001" in matched("understanding auditory")
    assert matched('"understanding auditory"') == set()
    # seed-0068: title "... Gaussian Splatting", abstract "Physically ...".
    assert "seed-0068" not in matched('"splatting physically"')


def test_stemming_makes_splat_splats_splatting_one_word():
    assert matched("splat") == matched("splats") == matched("splatting") == SPLATTING
    assert matched('"gaussian splats"') == SPLATTING


def test_hyphenated_query_matches_split_hyphenated_and_joined_text():
    assert matched("self-supervised") == SELF_SUPERVISED
    assert matched('"self supervised"') == SELF_SUPERVISED
    joined = PaperRecord(id="joined", title="Selfsupervised depth", abstract="")
    spaced = PaperRecord(id="spaced", title="Self supervised depth", abstract="")
    slashed = PaperRecord(id="slashed", title="Self/supervised depth", abstract="")
    other = PaperRecord(id="other", title="Supervised self depth", abstract="")
    assert matched("self-supervised", [joined, spaced, slashed, other]) == {"joined", "spaced", "slashed"}


def test_joined_query_word_matches_hyphenated_text():
    # seed-0373's title says "Variational Auto-Encoders".
    assert "seed-0373" in matched("autoencoder")
    assert "seed-0373" in matched('"variational autoencoder"')
    assert matched("autoencoder") == matched("auto-encoders")


def test_joined_compound_inside_longer_phrase_keeps_positions():
    paper = PaperRecord(id="p", title="A sparse auto-encoder model for circuits", abstract="")
    assert matched('"sparse autoencoder model"', [paper]) == {"p"}
    assert matched('"autoencoder for"', [paper]) == set()


def test_acronym_plural_drops_its_s():
    assert (
        matched("NeRFs")
        == matched("NeRF")
        == {"seed-0003", "seed-0053", "seed-0055", "seed-0056", "seed-0063"}
    )
    gans = {
        "seed-0047",
        "seed-0291",
        "seed-0309",
        "seed-0398",
        "seed-0425",
        "seed-0472",
        "seed-0542",
        "seed-0544",
    }
    assert matched("GANs") == matched("GAN") == gans


def test_acronym_matches_its_expansion_and_the_expansion_phrase_matches_the_acronym():
    # seed-0450 writes "text-to-speech (TTS)"; seed-0384 and seed-0523 only "text-to-speech".
    assert matched("TTS") == matched('"text to speech"') == matched("text-to-speech") == TEXT_TO_SPEECH
    assert matched('"retrieval augmented generation"') == matched("RAG") == {
        "seed-0084", "seed-0120", "seed-0191", "seed-0199", "seed-0295",
    }  # fmt: skip
    # seed-0310 says "Vision Transformers", seed-0432 "ViT-Base": both are ViT.
    assert matched("ViT") == {"seed-0310", "seed-0432", "seed-0515"}


def test_expansion_matches_through_stemming_and_plurals():
    # "Mixtures of Experts" (seed-0087's title) is the plural of the MoE expansion.
    assert "seed-0087" in matched("MoE")
    assert matched("MoE") == matched('"mixture of experts"')
    # Unquoted, the words are only required anywhere: seed-0288 has them apart.
    assert matched("mixture experts") - matched('"mixture of experts"') == {"seed-0288"}


def test_acronym_inside_a_hyphenated_word_is_found():
    # seed-0001: "AAD-LLM".
    assert "seed-0001" in matched("aad llm")
    assert "seed-0001" in matched('"aad llm"')


def test_prefix_matches_unstemmed_words_starting_with_it():
    quantized = matched("quantiz*")
    assert len(quantized) == 26
    assert {"seed-0039", "seed-0040", "seed-0089"} <= quantized  # quantized, quantizing, quantization
    assert matched("evolsplat") == {"seed-0053"}
    assert "seed-0053" in matched("evol*")
    # The prefix compares unstemmed words: seed-0062 writes "splats" and "splat", never "splatt...",
    # although every one of them stems to "splat".
    assert matched("splatt*") == SPLATTING - {"seed-0062"}


def test_prefix_inside_a_phrase():
    assert matched('"gaussian splat*"') == SPLATTING


def test_exclusion_removes_papers_matching_a_word_phrase_or_group():
    assert matched("splatting -nerf") == SPLATTING - {"seed-0053", "seed-0063"}
    assert matched('"gaussian splatting" -(nerf OR octree)') == {
        "seed-0058", "seed-0061", "seed-0062", "seed-0069", "seed-0306",
    }  # fmt: skip
    assert matched('splatting -"gaussian splatting"') == set()


def test_or_binds_tighter_than_and():
    assert matched("diffusion video OR audio") == {
        "seed-0003", "seed-0048", "seed-0051", "seed-0058", "seed-0064", "seed-0067",
        "seed-0071", "seed-0299", "seed-0384", "seed-0459", "seed-0494", "seed-0564",
    }  # fmt: skip
    assert matched("diffusion video OR audio") == matched("diffusion (video OR audio)")


def test_parentheses_group_before_or():
    grouped = matched("(diffusion video) OR audio")
    assert len(grouped) == 29
    assert grouped == matched("diffusion video") | matched("audio")


def test_field_prefix_restricts_a_word_or_phrase():
    assert matched("title:splatting") == {"seed-0053", "seed-0061", "seed-0062", "seed-0068", "seed-0306"}
    assert matched("abstract:splatting") == SPLATTING - {"seed-0306"}
    assert matched('title:"gaussian splatting"') == {"seed-0053", "seed-0061", "seed-0068", "seed-0306"}
    assert matched("splatting -title:gaussian") == {"seed-0058", "seed-0062", "seed-0069"}


def test_ai_keywords_are_searched_without_a_prefix_but_not_by_title():
    paper = with_extras("seed-0001", ai_keywords=["neuromorphic hardware", "EEG decoding"])
    other = BY_ID["seed-0002"]
    assert matched("neuromorphic", [paper, other]) == {"seed-0001"}
    assert matched('"neuromorphic hardware"', [paper, other]) == {"seed-0001"}
    assert matched("title:neuromorphic", [paper, other]) == set()
    # Two keywords are separate values: no phrase across them.
    assert matched('"hardware eeg"', [paper, other]) == set()


def test_authors_only_with_author_prefix():
    paper = with_extras("seed-0001", authors=["Grace Hopper", "Ada Lovelace"])
    other = BY_ID["seed-0002"]
    assert matched("hopper", [paper, other]) == set()
    assert matched("author:hopper", [paper, other]) == {"seed-0001"}
    assert matched('author:"ada lovelace"', [paper, other]) == {"seed-0001"}
    assert matched('author:"hopper ada"', [paper, other]) == set()
    assert matched("author:lovelace auditory", [paper, other]) == {"seed-0001"}


def test_case_and_unicode_compatibility_forms_are_folded():
    # Full-width "LARGE L" (NFKC folds them to ASCII) and a German sharp s (case-folds to "ss").
    paper = PaperRecord(
        id="p", title="\uff2c\uff21\uff32\uff27\uff25 \uff2canguage Models für Straße", abstract=""
    )
    assert matched("large language models", [paper]) == {"p"}
    assert matched("strasse", [paper]) == {"p"}
