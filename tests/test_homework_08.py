"""Homework 08 (generating names): the reference answers and unusual correct ones pass; every typical mistake
(perplexity from the mean probability, temperature after the softmax, a top-k that leaves the others a
probability, STOP never drawn or kept, the global random generator, a state not detached or not carried, ...)
gets its own diagnosis; the library's versions are refused where the text says "write it yourself"."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from recurrent_lib.data import ALPHABET, letter_indices
from recurrent_lib.homework import CheckFailure, check
from recurrent_lib.language_model import (START, STOP, VOCAB_SIZE, bigram_model, name_batch, next_token_probs,
                                          novelty, perplexity, tbptt_step as library_tbptt_step)

V = VOCAB_SIZE


def failure(exercise_id: str, *objects) -> str:
    """The message of the check's failure (the test fails if the check passes)."""
    with pytest.raises(CheckFailure) as caught:
        check(exercise_id, *objects)
    return str(caught.value)


# ---------------------------------------------------------------- 8.1

def table(names, alpha, boundaries=True, dim=1, denominator_alpha=True, stop=True):
    counts = torch.zeros(V, V, dtype=torch.float64)
    for name in names:
        tokens = [START, *letter_indices(name)] + [STOP] * stop if boundaries else letter_indices(name)
        for previous, token in zip(tokens, tokens[1:]):
            counts[previous, token] += 1
    total = (counts + alpha).sum(dim=dim, keepdim=True) if denominator_alpha else counts.sum(dim=dim, keepdim=True).clamp_min(1)
    return (counts + alpha) / total


def test_bigram_reference_and_float32_pass():
    check("8.1", table)
    check("8.1", lambda names, alpha: table(names, alpha).float())


def test_bigram_mistakes_are_named():
    assert "are missing" in failure("8.1", lambda n, a: table(n, a, boundaries=False)) and "START" in failure(
        "8.1", lambda n, a: table(n, a, boundaries=False))
    assert "each column sums to 1" in failure("8.1", lambda n, a: table(n, a, dim=0))
    assert "alpha is missing from the denominator" in failure("8.1", lambda n, a: table(n, a, denominator_alpha=False))
    assert "transpose" in failure("8.1", lambda n, a: table(n, a).T)
    assert "0 / 0" in failure("8.1", lambda n, a: table(n, 0.0))


def test_the_library_is_refused_for_the_bigram():
    message = failure("8.1", lambda names, alpha: bigram_model([(n, 0) for n in names], 1, alpha).log_probs[0].exp())
    assert "scores zero" in message and "count the pairs yourself" in message


# ---------------------------------------------------------------- 8.2

def ppl(reduce="mean-log", with_stop=True):
    def perplexity_of(model, items):
        tokens, languages, targets = name_batch(items)
        with torch.no_grad():
            logits, _ = model(tokens, languages)
        if not with_stop:
            targets = targets.masked_fill(targets == STOP, -100)
        log_p = F.log_softmax(logits, dim=-1)
        mask = targets != -100
        picked = log_p.gather(2, targets.clamp_min(0)[..., None])[..., 0][mask]
        if reduce == "mean-prob":
            return 1 / picked.exp().mean().item()
        if reduce == "sum":
            return math.exp(-picked.sum().item())
        if reduce == "nll":
            return -picked.mean().item()
        if reduce == "tensor":
            return torch.exp(-picked.mean())
        return math.exp(-picked.mean().item())
    return perplexity_of


def test_perplexity_reference_passes_also_as_numpy_float():
    check("8.2", ppl())
    check("8.2", lambda model, items: np.float64(ppl()(model, items)))


def test_perplexity_mistakes_are_named():
    assert "1 / (mean probability)" in failure("8.2", ppl("mean-prob"))
    assert "STOP is left out" in failure("8.2", ppl(with_stop=False))
    assert "exp of the SUM" in failure("8.2", ppl("sum"))
    assert "perplexity is exp of it" in failure("8.2", ppl("nll"))
    assert "return .item()" in failure("8.2", ppl("tensor"))


def test_perplexity_averaged_over_names_is_named():
    def per_name(model, items):
        return sum(ppl()(model, [item]) for item in items) / len(items)
    assert "averages the names' perplexities" in failure("8.2", per_name)


def test_the_library_perplexity_is_refused():
    assert "the library's perplexity" in failure("8.2", lambda model, items: perplexity(model, items))


def test_a_returned_none_is_reported():
    assert "None" in failure("8.2", lambda model, items: None)


# ---------------------------------------------------------------- 8.3

def probs(temperature_after=False, multiply=False, zero_logits=False, no_renorm=False, smallest=False):
    def next_letter_probs(logits, temperature, top_k):
        z = logits.double()
        if temperature == 0:
            return F.one_hot(z.argmax(), z.shape[-1]).double()
        keep = torch.ones_like(z, dtype=torch.bool)
        if top_k is not None:
            keep = torch.zeros_like(keep)
            keep[z.topk(top_k, largest=not smallest).indices] = True
        if no_renorm:
            return F.softmax(z / temperature, dim=-1) * keep
        masked = z.masked_fill(~keep, 0.0 if zero_logits else float("-inf"))
        if temperature_after:
            return F.softmax(masked, dim=-1) / temperature
        return F.softmax(masked * temperature if multiply else masked / temperature, dim=-1)
    return next_letter_probs


def test_probs_reference_passes():
    check("8.3", probs())
    check("8.3", lambda logits, t, k: probs()(logits, t, k).float())


def test_probs_mistakes_are_named():
    assert "applied after the softmax" in failure("8.3", probs(temperature_after=True))
    assert "multiplied by the temperature" in failure("8.3", probs(multiply=True))
    assert "set to 0, which leaves them a probability" in failure("8.3", probs(zero_logits=True))
    assert "not renormalised" in failure("8.3", probs(no_renorm=True))
    assert "k SMALLEST" in failure("8.3", probs(smallest=True))


def test_temperature_ignored_and_division_by_zero_are_named():
    def ignored(logits, temperature, top_k):
        return probs()(logits, 1.0 if temperature else 0.0, top_k)
    assert "has no effect" in failure("8.3", ignored)

    def divides(logits, temperature, top_k):
        return F.softmax(logits / temperature, dim=-1) if top_k is None else probs()(logits, temperature, top_k)
    assert "greedy decoding" in failure("8.3", divides)

    def python_division(logits, temperature, top_k):
        return F.softmax(logits * (1 / temperature), dim=-1) if top_k is None else probs()(logits, temperature, top_k)
    assert "greedy decoding" in failure("8.3", python_division)


def test_in_place_change_of_the_logits_is_named():
    def in_place(logits, temperature, top_k):
        if temperature:
            logits /= temperature
        return probs()(logits, 1.0 if temperature else 0.0, top_k)
    assert "changed the logits" in failure("8.3", in_place)


def test_the_library_probs_are_refused():
    assert "the library's next_token_probs" in failure("8.3", lambda z, t, k: next_token_probs(z[None], t, k)[0])


# ---------------------------------------------------------------- 8.4

def sampler(global_rng=False, keep_stop=False, never_stop=False, argmax=False, own_probs=None):
    def sample_name(model, language, temperature, top_k, generator, max_length=20):
        languages = torch.tensor([language])
        token, state, letters = START, None, []
        while len(letters) < max_length:
            logits, state = model(torch.tensor([[token]]), languages, state)
            if own_probs is not None:
                p = own_probs(logits[-1, 0], temperature, top_k)
            else:
                p = next_letter_probs(logits[-1, 0], temperature, top_k)
            if never_stop:
                p = p.clone()
                p[STOP] = 0
            if argmax:
                token = int(p.argmax())
            else:
                token = int(torch.multinomial(p, 1) if global_rng else torch.multinomial(p, 1, generator=generator))
            if token == STOP:
                if keep_stop:
                    letters.append("|")
                break
            letters.append(ALPHABET[token])
        return "".join(letters)
    return sample_name


def next_letter_probs(logits, temperature, top_k):   # the name sample_name calls, replaced by the check's
    return next_token_probs(logits[None], temperature, top_k)[0]


def test_sampler_reference_passes():
    check("8.4", sampler())


def test_sampler_mistakes_are_named():
    assert "global" in failure("8.4", sampler(global_rng=True))
    assert "is not part of it" in failure("8.4", sampler(keep_stop=True))
    assert "never drawn" in failure("8.4", sampler(never_stop=True))
    assert "all gave" in failure("8.4", sampler(argmax=True)) or "far from" in failure("8.4", sampler(argmax=True))


def test_sampler_with_its_own_wrong_temperature_or_top_k_is_named():
    def ignore_temperature(logits, temperature, top_k):
        return next_token_probs(logits[None], 1.0 if temperature else 0.0, top_k)[0]
    assert "has no effect" in failure("8.4", sampler(own_probs=ignore_temperature))

    def zero_logits(logits, temperature, top_k):
        return probs(zero_logits=True)(logits, temperature, top_k)
    assert "mask its logit with -inf, not 0" in failure("8.4", sampler(own_probs=zero_logits))


def test_stop_turned_into_a_letter_is_named():
    def letters_only(model, language, temperature, top_k, generator, max_length=20):
        languages, token, state, letters = torch.tensor([language]), START, None, []
        while len(letters) < max_length:
            logits, state = model(torch.tensor([[token]]), languages, state)
            token = int(torch.multinomial(next_letter_probs(logits[-1, 0], temperature, top_k), 1, generator=generator))
            letters.append(ALPHABET[token])
            if token == STOP:
                break
        return "".join(letters)
    assert "STOP is index 57" in failure("8.4", letters_only)


def test_the_library_sampler_is_refused():
    from recurrent_lib.language_model import sample

    def with_library(model, language, temperature, top_k, generator, max_length=20):
        return sample(model, [language], generator, temperature=temperature, top_k=top_k, max_length=max_length)[0]
    assert "the library's sample" in failure("8.4", with_library)


# ---------------------------------------------------------------- 8.5

def step(detach=True, carry=True, zero_grad=True, tensor_loss=False, tuple_detach=True):
    def tbptt_step(model, optimizer, inputs, targets, state):
        logits, new_state = model(inputs, None, state if carry else None)
        loss = F.cross_entropy(logits.flatten(0, 1), targets.flatten())
        if zero_grad:
            optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if detach:
            new_state = tuple(s.detach() for s in new_state) if tuple_detach else new_state.detach()
        return (loss if tensor_loss else loss.item()), new_state
    return tbptt_step


def test_tbptt_reference_passes():
    check("8.5", step())


def test_tbptt_mistakes_are_named():
    assert "still carries the graph" in failure("8.5", step(detach=False))
    assert "did not carry it" in failure("8.5", step(carry=False))
    assert "zero_grad" in failure("8.5", step(zero_grad=False))
    assert "return .item()" in failure("8.5", step(tensor_loss=True))
    assert "an LSTM's state is a pair (h, c)" in failure("8.5", step(tuple_detach=False))


def test_tbptt_returning_no_state_is_named():
    def no_state(model, optimizer, inputs, targets, state):
        loss, _ = step()(model, optimizer, inputs, targets, state)
        return loss, None
    assert "return the model's final state" in failure("8.5", no_state)


def test_the_library_tbptt_step_is_refused():
    assert "the library's tbptt_step" in failure("8.5", library_tbptt_step)


# ---------------------------------------------------------------- 8.6

def sorter(distinct=False, substring=False, casefold=False, shares=False):
    def sort_samples(samples, train_names, held_out_names):
        names = sorted(set(samples)) if distinct else samples
        fold = (lambda s: s.casefold()) if casefold else (lambda s: s)
        train, held = {fold(n) for n in train_names}, {fold(n) for n in held_out_names}
        counts = {"train": 0, "held-out": 0, "new": 0}
        for name in names:
            if substring:
                kind = "train" if any(name in t for t in train_names) else \
                    "held-out" if any(name in h for h in held_out_names) else "new"
            else:
                kind = "train" if fold(name) in train else "held-out" if fold(name) in held else "new"
            counts[kind] += 1
        if shares and names:
            return {k: v / len(names) for k, v in counts.items()}
        return counts
    return sort_samples


def test_sorting_reference_and_numpy_counts_pass():
    check("8.6", sorter())
    check("8.6", lambda s, t, h: {k: np.int64(v) for k, v in sorter()(s, t, h).items()})


def test_sorting_mistakes_are_named():
    assert "each distinct sample once" in failure("8.6", sorter(distinct=True))
    assert "matches parts of names" in failure("8.6", sorter(substring=True))
    assert "ignores case" in failure("8.6", sorter(casefold=True))
    assert "not shares" in failure("8.6", sorter(shares=True))
    assert "expected exactly" in failure("8.6", lambda s, t, h: {"train": 0, "test": 0, "new": 0})


def test_the_library_novelty_is_refused():
    assert "the library's novelty" in failure("8.6", lambda s, t, h: novelty(s, t, h))


# ---------------------------------------------------------------- a second battery of mistakes (issue 25)

def perplexity_flat(model, items):
    tokens, languages, targets = name_batch(items)
    with torch.no_grad():
        logits, _ = model(tokens, languages)
    return math.exp(F.cross_entropy(logits, targets).item())           # (T, B, V): classes read from dim 1


def sampler_with(feed_start=False, carry=True, shape=(1, 1), letter_offset=0):
    def sample_name(model, language, temperature, top_k, generator, max_length=20):
        languages, token, state, letters = torch.tensor([language]), START, None, []
        while len(letters) < max_length:
            tokens = torch.tensor(START if feed_start else token).reshape(shape)
            logits, new_state = model(tokens, languages, state)
            state = new_state if carry else None
            token = int(torch.multinomial(next_letter_probs(logits[-1, 0], temperature, top_k), 1, generator=generator))
            if token == STOP:
                break
            letters.append(ALPHABET[token + letter_offset])
        return "".join(letters)
    return sample_name


def tbptt_with(order="loss first", container=tuple, flat=True):
    def tbptt_step(model, optimizer, inputs, targets, state):
        logits, new_state = model(inputs, None, state)
        loss = F.cross_entropy(logits.flatten(0, 1), targets.flatten()) if flat else F.cross_entropy(logits, targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        state = container(s.detach() for s in new_state)
        return (loss.item(), state) if order == "loss first" else (state, loss.item())
    return tbptt_step


def whole_table(names, alpha):
    counts = torch.zeros(V, V, dtype=torch.float64)
    for name in names:
        tokens = [START, *letter_indices(name), STOP]
        for previous, token in zip(tokens, tokens[1:]):
            counts[previous, token] += 1
    return (counts + alpha) / (counts + alpha).sum()


def ord_indices(names, alpha):
    counts = torch.zeros(V, V, dtype=torch.float64)
    for name in names:
        tokens = [START] + [ord(c) - ord("a") for c in name] + [STOP]
        for previous, token in zip(tokens, tokens[1:]):
            counts[previous, token] += 1
    return (counts + alpha) / (counts + alpha).sum(dim=1, keepdim=True)


def threshold_from_the_smallest(logits, temperature, top_k):
    """8.3 with the k-th SMALLEST logit as the top-k threshold (sort() is ascending)."""
    if temperature == 0 or top_k is None:
        return probs()(logits, temperature, top_k)
    z = logits.double()
    return F.softmax(z.masked_fill(z < z.sort().values[top_k - 1], float("-inf")) / temperature, dim=-1)


def lowered_samples(samples, train_names, held_out_names):
    return sorter()([name.lower() for name in samples], train_names, held_out_names)


def held_out_first(samples, train_names, held_out_names):
    counts = {"train": 0, "held-out": 0, "new": 0}
    for name in samples:
        counts["held-out" if name in held_out_names else "train" if name in train_names else "new"] += 1
    return counts


def new_once(samples, train_names, held_out_names):
    counts, seen = {"train": 0, "held-out": 0, "new": 0}, set()
    for name in samples:
        kind = "train" if name in train_names else "held-out" if name in held_out_names else "new"
        counts[kind] += kind != "new" or name not in seen
        seen.add(name)
    return counts


@pytest.mark.parametrize("exercise_id, answer, words", [
    ("8.1", whole_table, "the whole table sums to 1"),
    ("8.1", lambda names, alpha: table(names, alpha).log(), "it holds log-probabilities"),
    ("8.1", ord_indices, "letter_indices(name) turns a name's letters into them"),
    ("8.2", perplexity_flat, "F.cross_entropy reads the classes from dim 1"),
    ("8.3", lambda logits, t, k: probs()(logits, t, None if k is None else k + 1), "it keeps k + 1 tokens"),
    ("8.3", lambda logits, t, k: probs()(logits, t, k) if k is None or t == 0 else
     F.softmax(logits.double().topk(k).values / t, dim=-1), "those are the k kept tokens' probabilities only"),
    ("8.3", lambda logits, t, k: probs()(logits, t, logits.topk(k).values.shape[0]), "top_k None means every token"),
    ("8.4", sampler_with(feed_start=True), "fed START again in the middle of a name"),
    ("8.4", sampler_with(carry=False), "without the state the model returned for the previous token"),
    ("8.4", sampler_with(shape=(1,)), "feed one token as tokens of shape (1, 1)"),
    ("8.5", tbptt_with(order="state first"), "returned (state, loss): return them the other way round"),
    ("8.5", tbptt_with(flat=False), "F.cross_entropy reads the classes from dim 1"),
    ("8.6", held_out_first, "check the training names first"),
    ("8.6", new_once, "a new name that comes back is counted once"),
    ("8.1", lambda names, alpha: table(names, alpha, stop=False), "the pairs last letter -> STOP are missing"),
    ("8.3", lambda logits, t, k: torch.full((V,), 1 / V, dtype=torch.float64) if t == 0 else probs()(logits, t, k),
     "it is uniform: temperature 0 is greedy decoding"),
    ("8.3", threshold_from_the_smallest, "the threshold is the k-th SMALLEST logit"),
    ("8.4", sampler_with(letter_offset=-1), "with every letter off by one: token t is the letter ALPHABET[t], not "
                                            "ALPHABET[t - 1]"),
    ("8.6", lowered_samples, "it lower-cases the samples but not the names it compares them with"),
])
def test_a_second_battery_of_mistakes_is_named(exercise_id, answer, words):
    assert words in failure(exercise_id, answer)


def test_a_state_returned_as_a_list_is_a_pair_too():
    check("8.5", tbptt_with(container=list))
