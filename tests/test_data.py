"""The names-by-language data set (recurrent_lib.data): contents, rules, split and encodings."""
import json
import os
import subprocess
import sys
from collections import Counter

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence, pad_packed_sequence

from recurrent_lib import data
from recurrent_lib.data import (
    ALPHABET,
    LANGUAGES,
    MAX_PER_LANGUAGE,
    N_LETTERS,
    NamesSplits,
    candidate_names,
    clean_name,
    collate_names,
    load_names,
    name_to_tensor,
    names_to_padded,
    tensor_to_name,
)

TUTORIAL_LANGUAGES = {
    "Arabic", "Chinese", "Czech", "Dutch", "English", "French", "German", "Greek", "Irish", "Italian",
    "Japanese", "Korean", "Polish", "Portuguese", "Russian", "Scottish", "Spanish", "Vietnamese",
}
SUBSTITUTES = {"Finnish", "Hungarian", "Indonesian"}  # for Scottish, Korean, Vietnamese (module docstring)


@pytest.fixture(scope="module")
def splits() -> NamesSplits:
    return load_names()


@pytest.fixture(scope="module")
def every_item(splits) -> list[tuple[str, int]]:
    return splits.train + splits.val + splits.test


def per_language(items) -> Counter:
    return Counter(LANGUAGES[label] for _, label in items)


# --- the data set ---------------------------------------------------------------------------------

def test_alphabet_is_the_tutorials():
    assert ALPHABET == "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ .,;'"
    assert N_LETTERS == len(ALPHABET) == 57


def test_eighteen_sorted_languages_the_tutorials_plus_documented_substitutes():
    assert len(LANGUAGES) == 18
    assert list(LANGUAGES) == sorted(LANGUAGES)
    assert set(LANGUAGES) == TUTORIAL_LANGUAGES - {"Scottish", "Korean", "Vietnamese"} | SUBSTITUTES
    for language in SUBSTITUTES:
        assert language in data.__doc__


def test_loading_is_cached_and_deterministic():
    first = load_names()
    assert load_names() is first
    load_names.cache_clear()
    candidate_names.cache_clear()
    again = load_names()
    assert again is not first and again == first


def test_same_data_in_a_fresh_process_with_another_hash_seed(every_item):
    script = ("import json; from recurrent_lib.data import load_names; "
              "s = load_names(); print(json.dumps([s.train, s.val, s.test]))")
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True)
    lists = json.loads(result.stdout)
    assert [[tuple(item) for item in split] for split in lists] == [load_names().train, load_names().val, load_names().test]


def test_names_are_ascii_in_the_alphabet_and_labels_valid(every_item):
    for name, label in every_item:
        assert name.isascii() and set(name) <= set(ALPHABET), name
        assert name == " ".join(name.split()) and name[0].isalpha(), name  # the character rule's output
        assert isinstance(label, int) and 0 <= label < len(LANGUAGES)


def test_size_and_balance(every_item):
    counts = per_language(every_item)
    assert set(counts) == set(LANGUAGES)
    assert min(counts.values()) >= 40
    assert max(counts.values()) <= MAX_PER_LANGUAGE
    assert len(every_item) >= 8000
    assert max(counts.values()) / min(counts.values()) <= 20  # imbalanced, but not hopelessly


def test_romanised_lists_are_used_where_unidecode_would_mislead(every_item):
    names = {LANGUAGES[label]: set() for label in range(len(LANGUAGES))}
    for name, label in every_item:
        names[LANGUAGES[label]].add(name)
    assert {"Suzuki", "Tanaka", "Yamamoto"} <= names["Japanese"]  # not the kanji read as Chinese
    assert {"Ivanov", "Smirnov"} <= names["Russian"]
    assert {"Chen", "Wang"} <= names["Chinese"]  # zh_TW's "CHEN" title-cased, one spelling kept
    assert "Rachedi" in names["Arabic"]


def test_splits_disjoint_and_stratified_80_10_10(splits, every_item):
    names = [name for name, _ in every_item]
    assert len(names) == len(set(names)) == len({name.casefold() for name in names})
    totals, train, val, test = (per_language(items) for items in (every_item, splits.train, splits.val, splits.test))
    for language in LANGUAGES:
        n_held_out = round(0.1 * totals[language])
        assert val[language] == test[language] == n_held_out, language
        assert train[language] == totals[language] - 2 * n_held_out, language
    for split in (splits.train, splits.val, splits.test):  # shuffled: languages mixed, not in blocks
        first_labels = {label for _, label in split[:100]}
        assert len(first_labels) >= 10


# --- the rules ------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "raw, cleaned",
    [
        ("Müller-Lüdenscheidt", "Muller Ludenscheidt"),  # hyphen -> space, accents stripped
        ("Смирнов", "Smirnov"),
        ("Παπαδόπουλος", "Papadopoulos"),
        ("CHEN", "Chen"),
        ("O'Brien", "O'Brien"),
        ("  van  der   Berg ", "van der Berg"),
        ("Bourgondië, van", None),  # inverted index entry
        ("Louis XIV 2", None),
        ("name@host", None),
        ("Ba`lbaki", None),
        ("(Smith)", None),
    ],
)
def test_character_rule(raw, cleaned):
    assert clean_name(raw) == cleaned


def test_cross_language_duplicates_are_dropped_from_every_language(every_item):
    candidates = candidate_names()
    languages_of: dict[str, set[str]] = {}
    for language, names in candidates.items():
        for name in names:
            languages_of.setdefault(name.casefold(), set()).add(language)
    in_data = {name.casefold(): LANGUAGES[label] for name, label in every_item}

    ambiguous = {key for key, languages in languages_of.items() if len(languages) > 1}
    assert len(ambiguous) > 100  # the rule matters: Faker's lists do overlap
    assert not ambiguous & set(in_data)
    for key, language in in_data.items():  # every kept name is unambiguous and keeps its own label
        assert languages_of[key] == {language}
    assert {"French", "English"} <= languages_of["martin"] and "martin" not in in_data

    counts = per_language(every_item)  # below the cap, every unambiguous name is kept
    for language in LANGUAGES:
        unambiguous = {name.casefold() for name in candidates[language]} - ambiguous
        kept = {key for key, lang in in_data.items() if lang == language}
        if len(unambiguous) <= MAX_PER_LANGUAGE:
            assert kept == unambiguous, language
        else:
            assert kept < unambiguous and counts[language] == MAX_PER_LANGUAGE, language


# --- encodings ------------------------------------------------------------------------------------

def test_name_to_tensor_is_the_tutorials_one_hot():
    jones = name_to_tensor("Jones")
    assert jones.shape == (5, 1, N_LETTERS) and jones.dtype == torch.float32
    assert torch.equal(jones.sum(dim=2), torch.ones(5, 1))
    assert jones[0, 0].argmax().item() == 35  # the tutorial: letterToTensor('J') has its 1 at index 35
    assert name_to_tensor("'").squeeze().argmax().item() == 56


def test_every_name_round_trips(every_item):
    for name, _ in every_item:
        assert tensor_to_name(name_to_tensor(name)) == name


@pytest.mark.parametrize(
    "bad, error, message",
    [
        ("Müller", ValueError, r"'Müller' has 'ü' at position 1, which is not in the alphabet"),
        ("Jean-Luc", ValueError, r"'-' at position 4"),
        ("", ValueError, "at least one letter, got an empty string"),
        (42, TypeError, "expected a name as a str, got int"),
    ],
)
def test_bad_names_get_a_clear_error(bad, error, message):
    with pytest.raises(error, match=message):
        name_to_tensor(bad)


def test_padded_batch_shapes_and_zero_padding():
    names = ["Li", "Nakamura", "Ng"]
    padded, lengths = names_to_padded(names)
    assert padded.shape == (8, 3, N_LETTERS)
    assert lengths.tolist() == [2, 8, 2] and lengths.dtype == torch.int64
    for b, name in enumerate(names):
        assert torch.equal(padded[: len(name), b], name_to_tensor(name).squeeze(1))
        assert not padded[len(name):, b].any()


def test_packed_batch_keeps_order_and_matches_one_name_at_a_time():
    items = [("Li", 1), ("Nakamura", 13), ("O'Neill", 11), ("Ng", 1)]
    packed, labels = collate_names(items)
    assert isinstance(packed, PackedSequence)
    assert labels.tolist() == [1, 13, 11, 1] and labels.dtype == torch.int64
    unpacked, lengths = pad_packed_sequence(packed)
    padded, expected_lengths = names_to_padded([name for name, _ in items])
    assert torch.equal(unpacked, padded) and torch.equal(lengths, expected_lengths)

    torch.manual_seed(0)
    rnn = nn.RNN(N_LETTERS, 5)
    _, h_packed = rnn(packed)
    for b, (name, _) in enumerate(items):
        _, h_alone = rnn(name_to_tensor(name))
        torch.testing.assert_close(h_packed[:, b], h_alone[:, 0])


def test_bad_batches_get_a_clear_error():
    with pytest.raises(TypeError, match="got the single str 'Li': wrap it in a list"):
        names_to_padded("Li")
    with pytest.raises(ValueError, match="expected at least one name"):
        names_to_padded([])
    with pytest.raises(ValueError, match=r"expected at least one \(name, label\) pair"):
        collate_names([])
    with pytest.raises(ValueError, match="'é' at position 2"):
        collate_names([("Ada", 0), ("Zoé", 3)])
