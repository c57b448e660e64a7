"""Assignment 08, generating names: checks of a smoothed bigram table, the perplexity of a recurrent model, the
next-letter distribution with temperature and top-k, a sampler, a truncated-BPTT step and sorting samples into
train / held-out / new.

The references are the library's (``recurrent_lib.language_model``, which lesson 08 uses). A sampler is judged by
its properties on a toy bigram model whose distributions are known (greedy at temperature 0, the model's own
first-letter shares at temperature 1, nothing outside the top k, the stop token ends a name and is not part of it,
the generator makes it reproducible and the global random state is left alone). Each diagnosis recomputes the
answer with the mistake it names and fires only when the student's answer matches it. Where the exercise says
"write it yourself", the library's version is refused (:mod:`..shortcuts`).
"""
import math
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from recurrent_lib.data import ALPHABET, letter_indices
from recurrent_lib.language_model import (START, STOP, VOCAB_SIZE, CharLM, CountLM, bigram_counts, detach_state,
                                          name_batch, name_stream, next_token_probs, novelty, perplexity,
                                          sample, stream_chunks, tbptt_step)

from ..exercise import Assignment, Exercise, substituted
from ..feedback import (CheckFailure, close, describe, expect_close, expect_float, expect_int, expect_tensor,
                        returned)
from ..shortcuts import references, refuse
from ..wire import JSON, Raised, call, encode

V = VOCAB_SIZE
LIBRARY = "recurrent_lib.language_model"


def _raised(exception: BaseException) -> JSON:
    return {"raised": type(exception).__name__, "message": str(exception).strip().split("\n")[0]}


# ---------------------------------------------------------------- 8.1 a smoothed bigram table

BIGRAM_CASES = {  # case -> (names, alpha)
    "names ['Ana', 'Bo', 'Ana'], alpha 1": (["Ana", "Bo", "Ana"], 1.0),
    "names ['Oto', \"O'Neil\", 'de Sa'], alpha 0.1": (["Oto", "O'Neil", "de Sa"], 0.1),
}


def _pairs(names: list[str], start: bool = True, stop: bool = True) -> Tensor:
    """(V, V) float64 counts of [previous, next] over ``names``, without the pairs START -> first letter (``start``
    False) or last letter -> STOP (``stop`` False)."""
    counts = bigram_counts([(name, 0) for name in names], 1)[0].double()
    if not start:
        counts[START, :] = 0
    if not stop:
        counts[:, STOP] = 0
    return counts


def _table(counts: Tensor, alpha: float) -> Tensor:
    """The smoothed table of ``counts``: each row normalised."""
    return (counts + alpha) / (counts + alpha).sum(dim=1, keepdim=True)


def bigram_reference(names: list[str], alpha: float) -> Tensor:
    return _table(_pairs(names), alpha)


def probe_bigram(bigram_table: Callable[..., Any]) -> dict[str, JSON]:
    results: dict[str, JSON] = {"uses": references(bigram_table)}
    for case, (names, alpha) in BIGRAM_CASES.items():
        results[case] = call(bigram_table, list(names), alpha)
    return results


INDICES_HINT = ("index the table with token indices: letter_indices(name) turns a name's letters into them (ALPHABET's "
                "order), not ord(...) or the letters themselves")
BIGRAM_HINTS = {"out of bounds for dimension": INDICES_HINT, "invalid data type 'str'": INDICES_HINT,
                "only integers, slices": INDICES_HINT, "str": INDICES_HINT}


def judge_bigram(results: dict[str, Any]) -> None:
    refuse(results.get("uses"), {LIBRARY: "the course library's language_model"},
           "count the pairs yourself (recurrent_lib.data.letter_indices is fine)")
    for case, (names, alpha) in BIGRAM_CASES.items():
        what = f"bigram_table for {case}"
        table = returned(results[case], what, hints=BIGRAM_HINTS)
        if isinstance(table, Tensor) and table.is_floating_point() and table.shape == (V, V):
            sums = table.double().sum(dim=1)
            if torch.isnan(table).any() and alpha > 0:
                raise CheckFailure(f"{what} contains NaN: a row whose previous token never occurs is 0 / 0 -- add "
                                   f"alpha to every count before dividing")
        table = expect_tensor(table, what, (V, V), f"({V}, {V}) = (previous token, next token)")
        counts = _pairs(names)
        plain = counts / counts.sum(dim=1, keepdim=True).clamp_min(1)
        mistakes = {
            "it is the transpose: row i must be the previous token, column j the next one (table[prev, next])":
                bigram_reference(names, alpha).T,
            "each column sums to 1: normalise every row (a previous token) over the next tokens, dim=1":
                (counts + alpha) / (counts + alpha).sum(dim=0, keepdim=True),
            "alpha is missing from the denominator: divide by the row's count plus alpha * V":
                (counts + alpha) / counts.sum(dim=1, keepdim=True).clamp_min(1),
            "alpha is added after normalising: add it to the counts, then normalise":
                (plain + alpha) / (plain + alpha).sum(dim=1, keepdim=True),
            "the whole table sums to 1: normalise every row (a previous token) on its own, "
            "counts.sum(dim=1, keepdim=True)": (counts + alpha) / (counts + alpha).sum(),
            "it holds log-probabilities: return the probabilities themselves (each row sums to 1)":
                bigram_reference(names, alpha).log(),
            "the pairs START -> first letter and last letter -> STOP are missing: read every name as "
            "[START] + letters + [STOP] (both index 57)": _table(_pairs(names, start=False, stop=False), alpha),
            "the pairs last letter -> STOP are missing: read every name as [START] + letters + [STOP] (both index "
            "57), so that the model learns where names end": _table(_pairs(names, stop=False), alpha),
            "the pairs START -> first letter are missing: read every name as [START] + letters + [STOP] (both index "
            "57), so that the model learns how names begin": _table(_pairs(names, start=False), alpha),
        }
        expect_close(table, bigram_reference(names, alpha), what, mistakes, atol=1e-8, rtol=1e-6)


# ---------------------------------------------------------------- 8.2 the perplexity of a recurrent model

PERPLEXITY_CASES = {  # case -> items
    "4 names": [("Ana", 0), ("Bo", 1), ("Kowalski", 2), ("Li", 0)],
    "one name": [("Nakamura", 1)],
}


def perplexity_model() -> CharLM:
    """The seeded toy model every perplexity case scores: CharLM('gru', 8, 3) on the CPU."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(801)
        model = CharLM("gru", 8, 3)
    with torch.no_grad():  # sharper than at initialisation, so that the mistakes give different numbers
        model.out.weight.mul_(8)
    return model


def probe_perplexity(perplexity_of: Callable[..., Any]) -> dict[str, JSON]:
    results: dict[str, JSON] = {"uses": references(perplexity_of)}
    for case, items in PERPLEXITY_CASES.items():
        results[case] = call(perplexity_of, perplexity_model(), list(items))
    return results


def _per_name_log_probs(items: list[tuple[str, int]]) -> list[Tensor]:
    model = perplexity_model()
    with torch.no_grad():
        out = []
        for item in items:
            tokens, languages, targets = name_batch([item])
            logits, _ = model(tokens, languages)
            out.append(F.log_softmax(logits.double(), dim=-1)[:, 0].gather(1, targets)[:, 0])   # (n + 1,)
    return out


def perplexity_mistakes(items: list[tuple[str, int]]) -> dict[str, float]:
    logs = _per_name_log_probs(items)
    every = torch.cat(logs)
    letters = torch.cat([log[:-1] for log in logs])
    return {
        "it is 1 / (mean probability): perplexity is exp of the mean NEGATIVE LOG-probability, "
        "exp(-mean(log p))": 1 / every.exp().mean().item(),
        "STOP is left out: the prediction of STOP after the last letter counts as a character too":
            math.exp(-letters.mean().item()),
        "it is exp of the SUM of -log p: divide by the number of characters first (the mean)":
            math.exp(min(-every.sum().item(), 700.0)),
        "it averages the names' perplexities: pool every character of every name, then take one mean":
            sum(math.exp(-log.mean().item()) for log in logs) / len(logs),
        "every name weighs the same: take the mean over all characters, not a mean of per-name means":
            math.exp(-sum(log.mean().item() for log in logs) / len(logs)),
        "it is the mean negative log-likelihood: perplexity is exp of it": -every.mean().item(),
        "the padding is counted: padded targets are -100, leave them out (ignore_index=-100, F.cross_entropy's "
        "default; a clamp turns them into token 0)": _padding_counted(items),
    }


def _padding_counted(items: list[tuple[str, int]]) -> float:
    """The perplexity with the padded targets read as token 0."""
    tokens, languages, targets = name_batch(items)
    with torch.no_grad():
        logits, _ = perplexity_model()(tokens, languages)
    return math.exp(F.cross_entropy(logits.double().flatten(0, 1), targets.flatten().clamp(min=0)).item())


CROSS_ENTROPY_HINTS = {"Expected target size": "F.cross_entropy reads the classes from dim 1: flatten the logits to "
                                                "(T * B, V) and the targets to (T * B,), logits.flatten(0, 1)"}


def judge_perplexity(results: dict[str, Any]) -> None:
    refuse(results.get("uses"), {f"{LIBRARY}.perplexity": "the library's perplexity",
                                 f"{LIBRARY}.mean_nll": "the library's mean_nll",
                                 f"{LIBRARY}.nll_sum": "the library's nll_sum"},
           "compute the perplexity yourself (name_batch and F.cross_entropy are fine)")
    for case, items in PERPLEXITY_CASES.items():
        what = f"perplexity_of(model, items) with {case}"
        value = returned(results[case], what, hints={
            "Expected input batch_size": "flatten logits to (T * B, V) and the targets to (T * B,) for F.cross_entropy",
            "Target -100 is out of bounds": "padded targets are -100: pass ignore_index=-100 (the default) to "
                                            "F.cross_entropy, or leave them out",
            **CROSS_ENTROPY_HINTS,
            "expected languages": "call model(tokens, languages) with the languages that name_batch returns"})
        value = expect_float(value, what)
        expected = perplexity(perplexity_model(), items)
        if math.isclose(value, expected, rel_tol=1e-4):
            continue
        for description, wrong in perplexity_mistakes(items).items():
            if math.isclose(value, wrong, rel_tol=1e-4):
                raise CheckFailure(f"{what} is {value:.4f}, expected {expected:.4f}: {description}")
        raise CheckFailure(f"{what} is {value:.4f}, expected {expected:.4f} (exp of the mean of -log p over every "
                           f"target, STOP included)")


# ---------------------------------------------------------------- 8.3 temperature and top-k

def _logits() -> Tensor:
    """(V,) float32 logits with a clear order."""
    return 2 * torch.randn(V, generator=torch.Generator().manual_seed(803))


PROBS_CASES = {"temperature 1": (1.0, None), "temperature 0.5": (0.5, None), "temperature 2": (2.0, None),
               "temperature 1, top_k 3": (1.0, 3), "temperature 0.5, top_k 5": (0.5, 5), "temperature 0": (0.0, None)}


def probe_probs(next_letter_probs: Callable[..., Any]) -> dict[str, JSON]:
    results: dict[str, JSON] = {"uses": references(next_letter_probs)}
    for case, (temperature, top_k) in PROBS_CASES.items():
        logits = _logits()
        results[case] = call(next_letter_probs, logits, temperature, top_k)
        results[f"{case}: logits changed"] = not torch.equal(logits, _logits())
    return results


def probs_mistakes(temperature: float, top_k: int | None) -> dict[str, Tensor]:
    z = _logits().double()
    keep = torch.zeros(V, dtype=torch.bool)
    if top_k is not None:
        keep[z.topk(top_k).indices] = True
    else:
        keep[:] = True
    mistakes: dict[str, Tensor] = {}
    if temperature == 0:
        mistakes["it is uniform: temperature 0 is greedy decoding, probability 1 on the largest logit (argmax) and 0 "
                 "elsewhere"] = torch.full((V,), 1 / V, dtype=torch.float64)
    if temperature > 0:
        masked = z.masked_fill(~keep, float("-inf"))
        mistakes |= {
            "the temperature has no effect: divide the logits by it BEFORE the softmax (dividing probabilities "
            "by it changes nothing once they are renormalised)": F.softmax(masked, dim=-1),
            "the temperature is applied after the softmax: softmax(logits / temperature), not "
            "softmax(logits) / temperature": F.softmax(masked, dim=-1) / temperature,
            "the logits are multiplied by the temperature: divide them, logits / temperature":
                F.softmax(masked * temperature, dim=-1),
        }
    if top_k is not None:
        full = F.softmax(z / temperature, dim=-1)
        mistakes |= {
            "the other tokens' logits are set to 0, which leaves them a probability: set them to -inf":
                F.softmax(z.masked_fill(~keep, 0.0) / temperature, dim=-1),
            "not renormalised: after zeroing the tokens outside the top k, divide by the sum of what is left "
            "(or mask the logits with -inf before the softmax)": full * keep,
            "it keeps k + 1 tokens: the threshold is the k-th largest logit, topk(k).values[-1] (sorted values "
            "[k] is the (k + 1)-th)": next_token_probs(z[None], temperature, top_k + 1)[0],
            "the threshold is the k-th SMALLEST logit (sort() is ascending), which keeps all but k - 1 tokens: the "
            "threshold is the k-th largest, logits.topk(k).values[-1]":
                F.softmax(z.masked_fill(z < z.sort().values[top_k - 1], float("-inf")) / temperature, dim=-1),
            "it keeps the k SMALLEST logits: keep the k largest (topk's default, largest=True)":
                F.softmax(z.masked_fill(z > z.topk(top_k, largest=False).values[-1], float("-inf")) / temperature,
                          dim=-1),
        }
    return mistakes


def judge_probs(results: dict[str, Any]) -> None:
    refuse(results.get("uses"), {f"{LIBRARY}.next_token_probs": "the library's next_token_probs"},
           "write temperature and top-k yourself")
    for case, (temperature, top_k) in PROBS_CASES.items():
        what = f"next_letter_probs(logits, {temperature}, {top_k}) ({case})"
        value = returned(results[case], what, hints={
            "division by zero": "temperature 0 is greedy decoding: put all the probability on the argmax "
                                "instead of dividing by 0",
            "not NoneType": "top_k None means every token: cut only when top_k is not None"})
        if temperature == 0 and isinstance(value, Tensor) and value.is_floating_point() and \
                bool(torch.isnan(value).any() | torch.isinf(value).any()):
            raise CheckFailure(f"{what} holds NaN or inf: temperature 0 is greedy decoding -- put probability 1 on "
                               f"the largest logit (argmax) and 0 elsewhere, without dividing by 0")
        probs = expect_tensor(value, what, (V,), f"({V},) = one probability per token",
                              {(1, V): "return a 1-d tensor, one probability per token (squeeze the batch dimension)",
                               (): "that is one token's index: return the probabilities, 1 at the argmax and 0 "
                                   "elsewhere (F.one_hot(logits.argmax(), V))",
                               (top_k,): "those are the k kept tokens' probabilities only: return all V, 0 for the "
                                         "tokens outside the top k"})
        if results[f"{case}: logits changed"]:
            raise CheckFailure(f"{what} changed the logits it was given (an in-place operation such as "
                               f"logits /= temperature or masked_fill_): work on a copy")
        expected = next_token_probs(_logits()[None], temperature, top_k)[0]
        expect_close(probs, expected, what, probs_mistakes(temperature, top_k), atol=1e-6, rtol=1e-4)


# ---------------------------------------------------------------- 8.4 a sampler

TOY_NAMES = {0: ["Ana", "Ana", "Ama", "Ada", "Bo", "Bo", "Bea", "Cy", "Cid", "Dag"],
             1: ["Oto", "Oto", "Ono", "Uma", "Uma", "Ei"]}


def toy_model() -> CountLM:
    """A bigram model of TOY_NAMES (two languages) with add-0.001 smoothing: language 0 starts with A, B, C, D
    with probability about .4, .3, .2, .1; its greedy name is 'Ana', language 1's is 'Oto'."""
    counts = bigram_counts([(name, k) for k, names in TOY_NAMES.items() for name in names], 2)
    return CountLM.from_counts(counts, 0.001)


SAMPLER_DRAWS = 400


class Watched(nn.Module):
    """The toy model, returning a state (the number of tokens fed so far in this name) and counting the calls that
    lost it (a letter fed with state None) or fed START again in the middle of a name."""

    def __init__(self, model: CountLM) -> None:
        super().__init__()
        self.model, self.lost, self.restarted = model, 0, 0

    def forward(self, tokens: Tensor, languages: Tensor | None = None, state: Any = None) -> tuple[Tensor, Tensor]:
        logits, _ = self.model(tokens, languages)
        starts = bool((tokens == START).all())
        self.lost += int(state is None and not starts)
        self.restarted += int(state is not None and starts)
        return logits, torch.zeros(1) if state is None else state + 1


def _draw_names(sample_name: Callable[..., Any], model: CountLM, n: int, language: int, temperature: float,
                top_k: int | None, seed: int, **options: Any) -> JSON:
    generator = torch.Generator().manual_seed(seed)
    names = []
    try:
        for _ in range(n):
            names.append(sample_name(model, language, temperature, top_k, generator, **options))
    except (Exception, SystemExit) as error:
        return _raised(error)
    return encode(names)


def probe_sampler(sample_name: Callable[..., Any]) -> dict[str, JSON]:
    results: dict[str, JSON] = {"uses": references(sample_name)}
    before = torch.get_rng_state()
    model = Watched(toy_model())
    with substituted(sample_name, next_letter_probs=lambda logits, temperature, top_k:
                     next_token_probs(logits.reshape(1, -1), temperature, top_k)[0]):
        results["first 20"] = _draw_names(sample_name, model, 20, 0, 1.0, None, 8)
        results["state lost"], results["START fed again"] = model.lost > 0, model.restarted > 0
        first = results["first 20"].get("list") if isinstance(results["first 20"], dict) else None
        if not first or all(isinstance(name, str) and len(name) >= 20 for name in first):
            return results  # it raised, or STOP never ends a name: the judge says so, no need to wait for more
        for language in (0, 1):
            results[f"greedy {language}"] = _draw_names(sample_name, model, 3, language, 0.0, None, 1)
        results["top_k 1"] = _draw_names(sample_name, model, 3, 0, 1.0, 1, 2)
        results["temperature 1"] = _draw_names(sample_name, model, SAMPLER_DRAWS, 0, 1.0, None, 3)
        results["temperature 0.5"] = _draw_names(sample_name, model, SAMPLER_DRAWS, 0, 0.5, None, 4)
        results["top_k 2"] = _draw_names(sample_name, model, 100, 0, 1.0, 2, 5)
        results["max_length 2"] = _draw_names(sample_name, model, 30, 1, 1.5, None, 6, max_length=2)
        results["seed 7, first"] = _draw_names(sample_name, model, 8, 0, 1.0, None, 7)
        results["seed 7, again"] = _draw_names(sample_name, model, 8, 0, 1.0, None, 7)
    results["global state untouched"] = bool(torch.equal(before, torch.get_rng_state()))
    return results


def _first_letter_shares(names: list[str]) -> Tensor:
    firsts = [letter_indices(name[0])[0] for name in names if name]
    return torch.bincount(torch.tensor(firsts, dtype=torch.long), minlength=V).double() / max(len(names), 1)


def _distance(names: list[str], probs: Tensor) -> float:
    return 0.5 * (_first_letter_shares(names) - probs).abs().sum().item()


def _expect_names(value: Any, what: str, count: int) -> list[str]:
    value = returned(value, what, hints={
        "string index out of range": "ALPHABET has 57 symbols and STOP is index 57: stop the name when STOP is "
                                     "drawn, before turning the token into a letter",
        "multinomial": "draw with torch.multinomial(probs, 1, generator=generator) from a 1-d tensor of "
                       "probabilities (V,)",
        "expected scalar type Long": "tokens must be int64: torch.tensor([[token]]) of an int",
        "expected tokens as an int64 tensor (T, batch)": "feed one token as tokens of shape (1, 1): "
                                                          "torch.tensor([[token]])",
        "Expected tensor for argument #1 'indices' to have one of the following scalar types: Long, Int":
            "tokens must be int64: torch.tensor([[token]]) of an int"})
    if not isinstance(value, list) or len(value) != count:
        raise CheckFailure(f"expected {what} to return names, got {describe(value)}")
    for name in value:
        if not isinstance(name, str):
            raise CheckFailure(f"expected sample_name to return the name as a str, got {describe(name)}")
        if "|" in name:
            raise CheckFailure(f"sample_name returned {name!r}: the stop token ends the name but is not part of it")
        if any(letter not in ALPHABET for letter in name):
            raise CheckFailure(f"sample_name returned {name!r}, with a symbol outside ALPHABET: turn tokens into "
                               f"letters with ALPHABET[token]")
    return value


def _shifted(name: str, shift: int) -> str:
    """``name`` with every letter turned into the one ``shift`` places further in ALPHABET (a token read off by one)."""
    return "".join(ALPHABET[(ALPHABET.index(letter) + shift) % len(ALPHABET)] for letter in name)


def judge_sampler(results: dict[str, Any]) -> None:
    refuse(results.get("uses"), {f"{LIBRARY}.sample": "the library's sample", f"{LIBRARY}.draw": "the library's draw"},
           "write the sampling loop yourself (torch.multinomial with generator= is fine)")
    first = _expect_names(results["first 20"], "sample_name(model, 0, 1.0, None, generator) 20 times", 20)
    if results.get("START fed again"):
        raise CheckFailure("sample_name fed START again in the middle of a name: after the first step feed back the "
                           "token just drawn, torch.tensor([[token]]), so that the model continues the name")
    if results.get("state lost"):
        raise CheckFailure("sample_name fed a letter without the state the model returned for the previous token: "
                           "pass it back, logits, state = model(tokens, languages, state), so that the model "
                           "remembers the name so far (the check's toy model is a bigram and would not notice; an "
                           "LSTM would)")
    if all(len(name) >= 20 for name in first):
        raise CheckFailure("every name is max_length (20) letters long: the stop token (index 57) is never drawn "
                           "or never ends the loop -- the model's next-token distribution includes STOP; when it "
                           "is drawn, return the letters so far")
    model = toy_model()
    greedy = {language: sample(model, [language], torch.Generator().manual_seed(0), temperature=0)[0]
              for language in (0, 1)}
    long_names = _expect_names(results["temperature 1"],
                               f"sample_name(model, 0, 1.0, None, generator) {SAMPLER_DRAWS} times", SAMPLER_DRAWS)
    for language in (0, 1):
        names = _expect_names(results[f"greedy {language}"], f"sample_name(model, {language}, 0.0, None, generator)", 3)
        shifted = next((shift for shift in (-1, 1) if all(name == _shifted(greedy[language], shift) for name in names)),
                       None)
        if shifted is not None:
            raise CheckFailure(f"at temperature 0 sample_name(model, {language}, ...) returned {names}, the greedy name "
                               f"{greedy[language]!r} with every letter off by one: token t is the letter "
                               f"ALPHABET[t], not ALPHABET[t {'-' if shifted < 0 else '+'} 1]")
        if any(name != greedy[language] for name in names):
            raise CheckFailure(f"at temperature 0 sample_name(model, {language}, ...) returned {names}, expected the "
                               f"greedy name {greedy[language]!r} every time (the most likely token at every step): "
                               f"feed START and the language first, then each drawn token, keeping the state")
    names = _expect_names(results["top_k 1"], "sample_name(model, 0, 1.0, 1, generator)", 3)
    if any(name != greedy[0] for name in names):
        raise CheckFailure(f"with top_k=1 sample_name returned {names}: keeping only the most likely token is "
                           f"greedy decoding, {greedy[0]!r}; every other token must get probability 0 (mask its "
                           f"logit with -inf, not 0)")
    with torch.no_grad():
        first_logits = model(torch.tensor([[START]]), torch.tensor([0]))[0][0, 0]
    p1 = next_token_probs(first_logits[None], 1.0)[0]
    p_half = next_token_probs(first_logits[None], 0.5)[0]
    at_one = _distance(long_names, p1)
    if at_one > 0.08:
        raise CheckFailure(f"at temperature 1 the first letters of {SAMPLER_DRAWS} names are far from the model's own "
                           f"probabilities (total variation {at_one:.2f}, expected < 0.08): draw each token from "
                           f"softmax(logits) of the LAST step, with torch.multinomial(probs, 1, generator=generator)")
    cold = _expect_names(results["temperature 0.5"],
                         f"sample_name(model, 0, 0.5, None, generator) {SAMPLER_DRAWS} times", SAMPLER_DRAWS)
    if _distance(cold, p_half) > 0.08:
        hint = (": the temperature has no effect -- it must divide the logits before the softmax"
                if _distance(cold, p1) < 0.08 else "")
        raise CheckFailure(f"at temperature 0.5 the first letters of {SAMPLER_DRAWS} names do not follow softmax(logits / 0.5) "
                           f"(total variation {_distance(cold, p_half):.2f}){hint}")
    top2 = _expect_names(results["top_k 2"], "sample_name(model, 0, 1.0, 2, generator) 100 times", 100)
    log_probs = model.log_probs[0]
    for name in top2:
        tokens = [START, *letter_indices(name)] if name else [START]
        for previous, token in zip(tokens, tokens[1:]):
            if log_probs[previous, token] < log_probs[previous].topk(2).values[-1]:   # ties at the k-th may go
                raise CheckFailure(f"with top_k=2 sample_name returned {name!r}: {ALPHABET[token]!r} after "
                                   f"{'START' if previous == START else repr(ALPHABET[previous])} is not among the 2 "
                                   f"most likely tokens there: only the top k may be drawn")
    short = _expect_names(results["max_length 2"], "sample_name(model, 1, 1.5, None, generator, max_length=2)", 30)
    if max(len(name) for name in short) > 2:
        raise CheckFailure(f"with max_length=2 sample_name returned {max(short, key=len)!r}: stop after max_length "
                           f"letters even if STOP was not drawn")
    first = _expect_names(results["seed 7, first"], "sample_name with a generator seeded 7", 8)
    again = _expect_names(results["seed 7, again"], "sample_name with a generator seeded 7, again", 8)
    if not results["global state untouched"]:
        raise CheckFailure("sample_name changed torch's global random state: it draws from the global generator -- "
                           "pass generator=generator to torch.multinomial, so that the same generator gives the "
                           "same names")
    if first != again:
        raise CheckFailure(f"two generators seeded alike gave different names ({first[:3]} vs {again[:3]}): draw "
                           f"only from the generator you are given")
    if len(set(first)) == 1:
        raise CheckFailure(f"8 draws from one generator at temperature 1 all gave {first[0]!r}: draw every token at "
                           f"random from the distribution (torch.multinomial), not its argmax")


# ---------------------------------------------------------------- 8.5 a truncated-BPTT step

TBPTT_STEPS, TBPTT_B, TBPTT_K = 3, 3, 5
TBPTT_NAMES = ["Ana", "Bo", "Kowalski", "Li", "Nakamura", "O'Neil", "Smith", "de Sa", "Ito"]


class PlainSGD:
    """Plain SGD with an optimizer's two methods, zero_grad() and step() (torch.optim's first step imports
    seconds' worth of modules, which the check's time limit should not pay for)."""

    def __init__(self, parameters: Any, lr: float) -> None:
        self.parameters, self.lr = list(parameters), lr

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.parameters:
            p.grad = None

    def step(self) -> None:
        with torch.no_grad():
            for p in self.parameters:
                if p.grad is not None:
                    p -= self.lr * p.grad


def tbptt_setup() -> tuple[CharLM, PlainSGD, list[tuple[Tensor, Tensor]]]:
    """A seeded CharLM('lstm', 6, 0), plain SGD (lr 0.5) and the chunks (K=5, B=3) of a small name stream."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(805)
        model = CharLM("lstm", 6, 0)
    optimizer = PlainSGD(model.parameters(), lr=0.5)
    chunks = list(stream_chunks(name_stream(TBPTT_NAMES), TBPTT_B, TBPTT_K))[:TBPTT_STEPS]
    return model, optimizer, chunks


def _state_summary(state: Any) -> JSON:
    if isinstance(state, (tuple, list)) and all(isinstance(s, Tensor) for s in state):
        return {"list": ["state", encode(tuple(state)), [bool(s.requires_grad) for s in state]]}
    if isinstance(state, Tensor):
        return {"list": ["state", encode((state,)), [bool(state.requires_grad)]]}
    return encode(state)


def probe_tbptt(tbptt_step_: Callable[..., Any]) -> dict[str, JSON]:
    results: dict[str, JSON] = {"uses": references(tbptt_step_)}
    model, optimizer, chunks = tbptt_setup()
    state = None
    for step, (inputs, targets) in enumerate(chunks, 1):
        try:
            value = tbptt_step_(model, optimizer, inputs, targets, state)
        except (Exception, SystemExit) as error:
            results[f"step {step}"] = _raised(error)
            break
        if isinstance(value, tuple) and len(value) == 2:
            loss, state = value
            results[f"step {step}"] = {"list": [encode(loss), _state_summary(state)]}
        else:
            results[f"step {step}"] = {"list": ["not a pair", encode(value)]}
            break
    results["weights"] = encode(torch.cat([p.detach().flatten() for p in model.parameters()]))
    return results


def tbptt_reference(carry: bool = True, zero_grad: bool = True) -> tuple[list[float], list[Any], Tensor]:
    """Losses, states and final weights of the reference run (or of a run that does not carry the state, or that
    never zeroes the gradients)."""
    model, optimizer, chunks = tbptt_setup()
    losses, states, state = [], [], None
    for inputs, targets in chunks:
        logits, new_state = model(inputs, None, state if carry else None)
        loss = F.cross_entropy(logits.flatten(0, 1), targets.flatten())
        if zero_grad:
            optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        state = detach_state(new_state)
        losses.append(loss.item())
        states.append(state)
    return losses, states, torch.cat([p.detach().flatten() for p in model.parameters()])


DETACH_HINT = ("the state you returned still carries the graph of this chunk, so the next step's backward runs into "
               "it: return it detached, (h.detach(), c.detach()) for an LSTM's pair")


def judge_tbptt(results: dict[str, Any]) -> None:
    refuse(results.get("uses"), {f"{LIBRARY}.tbptt_step": "the library's tbptt_step",
                                 f"{LIBRARY}.detach_state": "the library's detach_state"},
           "write the truncated-BPTT step yourself")
    losses, states, weights = tbptt_reference()
    fresh_losses, _, _ = tbptt_reference(carry=False)
    piled_losses, _, _ = tbptt_reference(zero_grad=False)
    got_losses = []
    for step in range(1, TBPTT_STEPS + 1):
        what = f"tbptt_step (step {step} of {TBPTT_STEPS}, each given the state the previous one returned)"
        observed = returned(results.get(f"step {step}"), what, hints={
            "backward through the graph a second time": DETACH_HINT,
            "modified by an inplace operation": DETACH_HINT + " (retain_graph=True does not help: the optimizer has "
                                                              "changed the weights the old graph needs)",
            "'tuple' object has no attribute 'detach'": "an LSTM's state is a pair (h, c): detach both, "
                                                        "tuple(s.detach() for s in state)",
            "Expected hidden[0] size": "pass the state as it came back from the model: (h, c), each (1, B, H)",
            **CROSS_ENTROPY_HINTS})
        if isinstance(observed, list) and observed and observed[0] == "not a pair":
            raise CheckFailure(f"expected {what} to return (loss, state), got {describe(observed[1])}")
        loss, state = observed
        if isinstance(loss, list) and loss and loss[0] == "state" or isinstance(loss, tuple):
            raise CheckFailure(f"{what} returned (state, loss): return them the other way round, (loss, state)")
        got_losses.append(expect_float(loss, f"the loss returned by {what}"))
        if not (isinstance(state, list) and state and state[0] == "state"):
            hint = " (None: return the model's final state, detached)" if state is None else ""
            raise CheckFailure(f"expected the state returned by {what} to be the LSTM's pair (h, c), got "
                               f"{describe(state)}{hint}")
        _, tensors, requires_grad = state
        if any(requires_grad):
            raise CheckFailure(f"{what}: {DETACH_HINT}")
        expected = states[step - 1]
        if len(tensors) != 2 or any(t.shape != e.shape for t, e in zip(tensors, expected)):
            raise CheckFailure(f"the state returned by {what} should be (h, c), each of shape {tuple(expected[0].shape)}")
    if all(math.isclose(a, b, rel_tol=1e-4, abs_tol=1e-6) for a, b in zip(got_losses, losses)):
        final = results["weights"]
        expect_close(final, weights, f"the weights after {TBPTT_STEPS} steps", atol=1e-5, rtol=1e-4)
        return
    if all(math.isclose(a, b, rel_tol=1e-4, abs_tol=1e-6) for a, b in zip(got_losses, fresh_losses)):
        raise CheckFailure("the losses are those of a model that starts every chunk from zeros: you detached the state "
                           "but did not carry it -- run the forward from the state you were given, "
                           "model(inputs, None, state), and return the new one")
    if all(math.isclose(a, b, rel_tol=1e-4, abs_tol=1e-6) for a, b in zip(got_losses, piled_losses)):
        raise CheckFailure("the gradients pile up from step to step: call optimizer.zero_grad() before backward()")
    raise CheckFailure(f"the losses of {TBPTT_STEPS} steps are {[round(v, 4) for v in got_losses]}, expected "
                       f"{[round(v, 4) for v in losses]}: forward from the state, the mean cross-entropy over the "
                       f"K * B targets (logits flattened to (K * B, V)), zero_grad, backward, step")


# ---------------------------------------------------------------- 8.6 train / held-out / new

SORT_CASES = {  # case -> (samples, train, held_out)
    "6 samples": (["Ana", "Ann", "Bo", "Bo", "Zed", "ana"], ["Anna", "Bo"], ["Ana", "Li"]),
    "no samples": ([], ["Anna"], ["Li"]),
    "a name in both lists": (["Eva", "Max", "Zoe", "Eva", "Zoe", "Max"], ["Eva", "Tom"], ["Eva", "Max"]),
}
SORT_KEYS = ("train", "held-out", "new")


def probe_sort(sort_samples: Callable[..., Any]) -> dict[str, JSON]:
    results: dict[str, JSON] = {"uses": references(sort_samples)}
    for case, (samples, train, held_out) in SORT_CASES.items():
        value = None
        try:
            value = sort_samples(list(samples), list(train), list(held_out))
        except (Exception, SystemExit) as error:
            results[case] = _raised(error)
            continue
        if isinstance(value, dict):
            results[case] = {"list": ["dict", encode(list(map(str, value))), encode(list(value.values()))]}
        else:
            results[case] = encode(value)
    return results


def _sort_mistakes(samples: list[str], train: list[str], held_out: list[str]) -> dict[str, dict[str, int]]:
    def counts(kind_of: Callable[[str], str], names: list[str]) -> dict[str, int]:
        out = dict.fromkeys(SORT_KEYS, 0)
        for name in names:
            out[kind_of(name)] += 1
        return out
    exact = lambda name: "train" if name in train else "held-out" if name in held_out else "new"
    return {
        "it counts each distinct sample once: every sample counts, repeats too": counts(exact, sorted(set(samples))),
        "it matches parts of names ('Ann' is in 'Anna'): compare whole names, `name in set_of_names`":
            counts(lambda n: "train" if any(n in t for t in train) else
                   "held-out" if any(n in h for h in held_out) else "new", samples),
        "a name that is both a training and a held-out name counts as 'train': check the training names first, "
        "'held-out' is for the others": counts(lambda n: "held-out" if n in held_out else "train" if n in train
                                               else "new", samples),
        "a new name that comes back is counted once: every sample counts, repeats too":
            counts(exact, [n for k, n in enumerate(samples) if exact(n) != "new" or n not in samples[:k]]),
        "it lower-cases the samples but not the names it compares them with, so 'Ana' never matches: compare the "
        "samples exactly as they are ('ana' is not 'Ana')": counts(lambda n: exact(n.lower()), samples),
        "it ignores case: the names must be spelled exactly alike ('ana' is not 'Ana')":
            counts(lambda n: "train" if n.casefold() in {t.casefold() for t in train} else
                   "held-out" if n.casefold() in {h.casefold() for h in held_out} else "new", samples),
    }


def judge_sort(results: dict[str, Any]) -> None:
    refuse(results.get("uses"), {f"{LIBRARY}.novelty": "the library's novelty"}, "sort the samples yourself")
    for case, (samples, train, held_out) in SORT_CASES.items():
        what = f"sort_samples with {case}"
        value = returned(results[case], what)
        if not (isinstance(value, list) and value and value[0] == "dict"):
            raise CheckFailure(f"expected {what} to return a dict {{'train': ..., 'held-out': ..., 'new': ...}}, got "
                               f"{describe(value)}")
        _, keys, values = value
        if sorted(keys) != sorted(SORT_KEYS):
            raise CheckFailure(f"{what} returned the keys {keys}, expected exactly {list(SORT_KEYS)}")
        if samples and any(isinstance(v, float) and v != int(v) for v in values):
            raise CheckFailure(f"{what} returned {dict(zip(keys, values))}: return counts (how many samples of each "
                               f"kind, as ints), not shares")
        got = {key: expect_int(v, f"the count {key!r} from {what}") for key, v in zip(keys, values)}
        expected = novelty(samples, train, held_out)
        if got == expected:
            continue
        for description, wrong in _sort_mistakes(samples, train, held_out).items():
            if got == wrong:
                raise CheckFailure(f"{what} returned {got}, expected {expected}: {description}")
        raise CheckFailure(f"{what} returned {got}, expected {expected}: a sample is 'train' if it is a training "
                           f"name, else 'held-out' if it is a held-out name, else 'new'")


ASSIGNMENT = Assignment("08_generating_names", "Generating names: a character-level language model", (
    Exercise("8.1", "a smoothed bigram table", ("bigram_table",), probe_bigram, judge_bigram),
    Exercise("8.2", "the perplexity of a recurrent model", ("perplexity_of",), probe_perplexity, judge_perplexity),
    Exercise("8.3", "temperature and top-k", ("next_letter_probs",), probe_probs, judge_probs),
    Exercise("8.4", "a sampler", ("sample_name",), probe_sampler, judge_sampler),
    Exercise("8.5", "a truncated-BPTT step", ("tbptt_step",), probe_tbptt, judge_tbptt),
    Exercise("8.6", "train, held-out or new", ("sort_samples",), probe_sort, judge_sort),
))
