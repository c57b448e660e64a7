"""The names-by-language data set, built offline from Faker's surname lists, and its encodings.

The PyTorch "classifying names" tutorial (the task of ``seeds/003_*.txt``) downloads 18 files of
surnames, transliterated to ASCII. Ours is built on first use from the surname lists that the
Faker package ships per locale (MIT licensed), transliterated with Unidecode, so nothing is
downloaded and nothing random is generated: the lists are read straight from the provider
classes, ``faker.providers.person.<locale>.Provider.<attribute>``.

Languages and their sources (``SOURCES``; 18 languages, so the seed's shapes ``Linear(185, 128)``,
``Linear(185, 18)`` and ``LSTM(57, 64)`` appear verbatim):

==========  ==========================================================================
Arabic      fr_DZ.last_names (Algerian surnames in French romanisation; the ar_* lists are
            in Arabic script, which Unidecode turns into unreadable consonant skeletons)
Chinese     zh_CN.last_romanized_names (pinyin), zh_TW.last_romanized_names (Wade-Giles)
Czech       cs_CZ.last_names (male and female forms)
Dutch       nl_NL.last_names, nl_BE.last_names
English     en_GB.last_names, en_NZ.last_names
French      fr_FR.last_names, fr_QC.last_names
German      de_DE.last_names, de_AT.last_names, de_CH.last_names
Greek       el_GR.last_names (Greek script, transliterated by Unidecode)
Irish       en_IE.last_names (anglicised), ga_IE.last_names (Irish spelling)
Italian     it_IT.last_names
Japanese    ja_JP.last_romanized_names (Unidecode would read the kanji as Chinese)
Polish      pl_PL.unisex_last_names, pl_PL.male_last_names
Portuguese  pt_PT.last_names, pt_BR.last_names
Russian     ru_RU.last_names (Cyrillic, transliterated by Unidecode)
Spanish     es_ES.last_names
Finnish     fi_FI.last_names       -- replaces the tutorial's Scottish (Faker has no Scottish list)
Hungarian   hu_HU.last_names       -- replaces Korean (ko_KR has 44 names in Hangul, which Unidecode
                                      spells "Gim", "Bag", "Coe" for Kim, Park, Choi)
Indonesian  id_ID.last_names       -- replaces Vietnamese (vi_VN lists only 10 surnames)
==========  ==========================================================================

Rules, applied in this order:

1. Characters. Every raw name goes through Unidecode; hyphens become spaces ("Coret-Coredo" ->
   "Coret Coredo"); runs of spaces collapse; an all-capitals name is title-cased ("CHEN" -> "Chen").
   A name that still holds anything but ASCII letters, spaces and apostrophes (digits, brackets,
   "@", "`", or the commas of inverted entries such as "Bourgondie, van") is dropped.
2. Duplicates. Within a language, spellings that differ only in case count once. A name that
   appears (case-insensitively) in the lists of two or more languages is ambiguous ("Martin" is
   listed under English, French, German, Irish, Polish and Spanish; "Simon" under French, German,
   Hungarian and Polish) and is dropped from all of them, so every name in the data set has
   exactly one correct answer.
3. Balance. A language with more than ``MAX_PER_LANGUAGE`` (800) names keeps a seeded random
   sample of 800, so Irish and Polish (thousands of names each) cannot drown Japanese (49).
4. Split. Each language is shuffled with a seeded ``random.Random`` and cut 80/10/10 into
   train/validation/test (stratified: every language keeps its share in every split); each split
   is then shuffled once more, so consecutive examples mix languages.

Encodings follow the tutorial: letter ``ALPHABET[i]`` is the one-hot vector ``e_i`` of size 57; a
name is a (seq_len, 1, 57) tensor; a batch is zero-padded to (max_len, batch, 57) or packed.
"""
import importlib
import random
import re
import string
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import torch
from torch import Tensor
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence
from unidecode import unidecode

ALPHABET: str = string.ascii_letters + " .,;'"
N_LETTERS: int = len(ALPHABET)
LETTER_INDEX: dict[str, int] = {letter: i for i, letter in enumerate(ALPHABET)}

SOURCES: dict[str, tuple[str, ...]] = {
    "Arabic": ("fr_DZ.last_names",),
    "Chinese": ("zh_CN.last_romanized_names", "zh_TW.last_romanized_names"),
    "Czech": ("cs_CZ.last_names",),
    "Dutch": ("nl_NL.last_names", "nl_BE.last_names"),
    "English": ("en_GB.last_names", "en_NZ.last_names"),
    "Finnish": ("fi_FI.last_names",),
    "French": ("fr_FR.last_names", "fr_QC.last_names"),
    "German": ("de_DE.last_names", "de_AT.last_names", "de_CH.last_names"),
    "Greek": ("el_GR.last_names",),
    "Hungarian": ("hu_HU.last_names",),
    "Indonesian": ("id_ID.last_names",),
    "Irish": ("en_IE.last_names", "ga_IE.last_names"),
    "Italian": ("it_IT.last_names",),
    "Japanese": ("ja_JP.last_romanized_names",),
    "Polish": ("pl_PL.unisex_last_names", "pl_PL.male_last_names"),
    "Portuguese": ("pt_PT.last_names", "pt_BR.last_names"),
    "Russian": ("ru_RU.last_names",),
    "Spanish": ("es_ES.last_names",),
}
LANGUAGES: tuple[str, ...] = tuple(sorted(SOURCES))
MAX_PER_LANGUAGE: int = 800
SEED: int = 0

_NAME = re.compile(r"[A-Za-z' ]+")


@dataclass(frozen=True)
class NamesSplits:
    """Train/validation/test examples ``(ascii name, language index into LANGUAGES)``."""

    train: list[tuple[str, int]]
    val: list[tuple[str, int]]
    test: list[tuple[str, int]]


def clean_name(raw: str) -> str | None:
    """The character rule: ``raw`` transliterated to the alphabet, or ``None`` when it cannot be."""
    name = " ".join(unidecode(raw).replace("-", " ").split())
    if name.isupper():
        name = name.title()
    return name if _NAME.fullmatch(name) else None


def _read_source(source: str) -> list[str]:
    locale, attribute = source.split(".")
    provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
    return list(getattr(provider, attribute))  # tuples, lists and OrderedDicts (weights) alike


@cache
def candidate_names() -> dict[str, tuple[str, ...]]:
    """Every language's cleaned names (rule 1, one spelling per case-insensitive key), before the
    duplicate rule and the cap."""
    candidates = {}
    for language in LANGUAGES:
        names: dict[str, str] = {}
        for source in SOURCES[language]:
            for raw in _read_source(source):
                name = clean_name(raw)
                if name is not None:
                    names.setdefault(name.casefold(), name)
        candidates[language] = tuple(names.values())
    return candidates


@cache
def load_names() -> NamesSplits:
    """The data set, split 80/10/10 per language (see the module docstring). Deterministic and cached."""
    candidates = candidate_names()
    languages_of: dict[str, set[str]] = {}
    for language, names in candidates.items():
        for name in names:
            languages_of.setdefault(name.casefold(), set()).add(language)

    rng = random.Random(SEED)
    train, val, test = [], [], []
    for label, language in enumerate(LANGUAGES):
        names = sorted(name for name in candidates[language] if len(languages_of[name.casefold()]) == 1)
        rng.shuffle(names)
        names = names[:MAX_PER_LANGUAGE]
        n_held_out = round(0.1 * len(names))
        test += [(name, label) for name in names[:n_held_out]]
        val += [(name, label) for name in names[n_held_out:2 * n_held_out]]
        train += [(name, label) for name in names[2 * n_held_out:]]
    for split in (train, val, test):
        rng.shuffle(split)
    return NamesSplits(train=train, val=val, test=test)


def letter_indices(name: str) -> list[int]:
    """The position in ALPHABET of every letter of ``name``; a clear error for anything else."""
    if not isinstance(name, str):
        raise TypeError(f"expected a name as a str, got {type(name).__name__}")
    if not name:
        raise ValueError("expected a name with at least one letter, got an empty string")
    for position, letter in enumerate(name):
        if letter not in LETTER_INDEX:
            raise ValueError(
                f"{name!r} has {letter!r} at position {position}, which is not in the alphabet "
                f"(ASCII letters and \" .,;'\"); transliterate it first, e.g. unidecode({name!r})"
            )
    return [LETTER_INDEX[letter] for letter in name]


def name_to_tensor(name: str) -> Tensor:
    """One-hot letters, the tutorial's encoding: (len(name), 1, N_LETTERS) float32."""
    return names_to_padded([name])[0]


def tensor_to_name(tensor: Tensor) -> str:
    """The inverse of :func:`name_to_tensor`: (seq_len, 1, N_LETTERS) or (seq_len, N_LETTERS) one-hot -> name."""
    return "".join(ALPHABET[i] for i in tensor.reshape(-1, N_LETTERS).argmax(dim=1).tolist())


def names_to_padded(names: Sequence[str]) -> tuple[Tensor, Tensor]:
    """Zero-padded one-hot batch (max_len, batch, N_LETTERS) float32 and the lengths (batch,) int64."""
    if isinstance(names, str):
        raise TypeError(f"expected a sequence of names, got the single str {names!r}: wrap it in a list")
    if len(names) == 0:
        raise ValueError("expected at least one name, got an empty sequence")
    indices = [letter_indices(name) for name in names]
    lengths = torch.tensor([len(letters) for letters in indices])
    padded = torch.zeros(int(lengths.max()), len(names), N_LETTERS)
    steps = [t for letters in indices for t in range(len(letters))]
    columns = [b for b, letters in enumerate(indices) for _ in letters]
    padded[steps, columns, [i for letters in indices for i in letters]] = 1.0
    return padded, lengths


def collate_names(items: Sequence[tuple[str, int]]) -> tuple[PackedSequence, Tensor]:
    """A minibatch of ``(name, label)`` pairs -> (packed one-hot batch, labels (batch,) int64).

    The names keep their order (``enforce_sorted=False``: the packed sequence remembers it).
    """
    if len(items) == 0:
        raise ValueError("expected at least one (name, label) pair, got an empty sequence")
    names, labels = zip(*items)
    padded, lengths = names_to_padded(names)
    return pack_padded_sequence(padded, lengths, enforce_sorted=False), torch.tensor(labels, dtype=torch.long)
