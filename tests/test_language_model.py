"""recurrent_lib.language_model: tokens, count models, perplexity, sampling and truncated BPTT."""
import math

import pytest
import torch
import torch.nn.functional as F

from recurrent_lib.data import ALPHABET, letter_indices
from recurrent_lib.language_model import (IGNORE, START, STOP, VOCAB_SIZE, CharLM, CountLM, bigram_counts,
                                          bigram_model, detach_state, draw, encode, entropy, mean_nll, name_batch,
                                          name_stream, next_token_probs, novelty, perplexity, position_losses,
                                          sample, stream_chunks, tbptt_step, train_names, uniform_model,
                                          unigram_counts, unigram_model)

ITEMS = [("Ana", 0), ("Bo", 1), ("Ana", 0), ("Kowalski", 1)]


def test_encode_shifts_the_name_by_one_with_boundaries():
    inputs, targets = encode("Bo")
    assert inputs == [START, ALPHABET.index("B"), ALPHABET.index("o")]
    assert targets == [ALPHABET.index("B"), ALPHABET.index("o"), STOP]
    assert START == STOP == VOCAB_SIZE - 1 == len(ALPHABET)


def test_name_batch_pads_targets_with_ignore():
    tokens, languages, targets = name_batch([("Bo", 0), ("Kowalski", 1)])
    assert tokens.shape == targets.shape == (9, 2) and languages.tolist() == [0, 1]
    assert (targets[3:, 0] == IGNORE).all() and targets[2, 0] == STOP and targets[8, 1] == STOP
    with pytest.raises(ValueError, match="at least one"):
        name_batch([])


def test_counts_include_start_and_stop():
    counts = bigram_counts(ITEMS, 2)
    assert counts.shape == (2, VOCAB_SIZE, VOCAB_SIZE) and counts.sum() == 4 + 3 + 4 + 9
    assert counts[0, START, ALPHABET.index("A")] == 2 and counts[0, ALPHABET.index("a"), STOP] == 2
    unigrams = unigram_counts(ITEMS, 2)
    assert unigrams[0, STOP] == 2 and unigrams.sum() == counts.sum()


def test_count_models_are_normalised_and_smoothed():
    for model in (bigram_model(ITEMS, 2, 0.1), unigram_model(ITEMS, 2, 0.1), uniform_model(2)):
        torch.testing.assert_close(model.log_probs.exp().sum(-1), torch.ones(model.log_probs.shape[:-1],
                                                                            dtype=torch.float64))
    assert torch.isfinite(bigram_model(ITEMS, 2, 0.1).log_probs).all()
    with pytest.raises(ValueError, match="alpha >= 0"):
        CountLM.from_counts(bigram_counts(ITEMS, 2), -1.0)


def test_perplexity_of_the_uniform_model_is_the_vocabulary_size():
    assert perplexity(uniform_model(2), ITEMS) == pytest.approx(VOCAB_SIZE, rel=1e-12)


def test_perplexity_is_exp_of_the_mean_nll_over_every_target():
    model = bigram_model(ITEMS, 2, 0.5)
    log_p = []
    for name, language in ITEMS:
        inputs, targets = encode(name)
        log_p += [model.log_probs[language, i, t].item() for i, t in zip(inputs, targets)]
    assert mean_nll(model, ITEMS) == pytest.approx(-sum(log_p) / len(log_p))
    assert perplexity(model, ITEMS) == pytest.approx(math.exp(-sum(log_p) / len(log_p)))


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_char_lm_is_teacher_forced_and_causal(kind):
    torch.manual_seed(0)
    model = CharLM(kind, 5, 2)
    tokens, languages, _ = name_batch([("Kowalski", 1)])
    logits, _ = model(tokens, languages)
    state, steps = None, []
    for t in range(tokens.shape[0]):
        step, state = model(tokens[t:t + 1], languages, state)
        steps.append(step)
    torch.testing.assert_close(torch.cat(steps), logits)
    changed = tokens.clone()
    changed[5:] = 0
    torch.testing.assert_close(model(changed, languages)[0][:5], logits[:5])   # the future does not leak back


def test_char_lm_rejects_bad_input():
    model = CharLM("gru", 4, 2)
    with pytest.raises(ValueError, match="int64 tensor"):
        model(torch.zeros(3, 1), torch.tensor([0]))
    with pytest.raises(ValueError, match="one per name"):
        model(torch.zeros(3, 2, dtype=torch.long), torch.tensor([0]))
    with pytest.raises(ValueError, match="kind"):
        CharLM("transformer", 4, 2)


def test_training_lowers_the_loss():
    torch.manual_seed(0)
    model = CharLM("gru", 16, 2)
    before = mean_nll(model, ITEMS)
    losses = train_names(model, ITEMS, steps=60, batch_size=4, lr=0.05, seed=0, device="cpu")
    assert len(losses) == 60 and mean_nll(model, ITEMS) < before - 1


def test_next_token_probs_temperature_top_k_and_greedy():
    logits = torch.tensor([[2.0, 1.0, 0.0, -1.0]])
    torch.testing.assert_close(next_token_probs(logits, 0.5), F.softmax(logits.double() / 0.5, dim=-1))
    top2 = next_token_probs(logits, 1.0, top_k=2)
    assert (top2[0, 2:] == 0).all() and top2.sum().item() == pytest.approx(1.0)
    assert next_token_probs(logits, 0).tolist() == [[1.0, 0.0, 0.0, 0.0]]
    assert (entropy(next_token_probs(logits, 0.5)) < entropy(next_token_probs(logits, 2.0))).all()
    with pytest.raises(ValueError, match="temperature"):
        next_token_probs(logits, -1.0)
    with pytest.raises(ValueError, match="top_k"):
        next_token_probs(logits, 1.0, top_k=5)


def test_draw_follows_the_probabilities_and_the_generator():
    probs = torch.tensor([[0.7, 0.2, 0.1, 0.0]], dtype=torch.float64).expand(20000, -1)
    tokens = draw(probs, torch.Generator().manual_seed(0))
    shares = torch.bincount(tokens, minlength=4).double() / len(tokens)
    torch.testing.assert_close(shares, probs[0], atol=0.01, rtol=0)
    assert torch.equal(tokens, draw(probs, torch.Generator().manual_seed(0)))


def test_sample_is_reproducible_greedy_primed_and_stops():
    model = bigram_model(ITEMS, 2, 0.01)
    state = torch.get_rng_state()
    first = sample(model, [0] * 5, torch.Generator().manual_seed(1))
    assert first == sample(model, [0] * 5, torch.Generator().manual_seed(1))
    assert torch.equal(state, torch.get_rng_state())                              # the global generator is untouched
    assert sample(model, [0, 0], torch.Generator(), temperature=0) == ["Ana", "Ana"]
    assert all(name.startswith("Ko") for name in sample(model, [1] * 5, torch.Generator(), prefix="Ko"))
    assert all(len(name) <= 3 for name in sample(model, [1] * 20, torch.Generator(), temperature=2.0, max_length=3))
    assert all("|" not in name for name in first)


def test_novelty_counts_every_sample():
    assert novelty(["Ana", "Ana", "Li", "Zed"], ["Ana"], ["Li"]) == {"train": 2, "held-out": 1, "new": 1}


def test_stream_chunks_continue_row_by_row():
    stream = name_stream(["Ana", "Bo", "Kowalski", "Li", "Ito"])
    assert stream[0] == START and (stream == STOP).sum() == 6
    chunks = list(stream_chunks(stream, 2, 3))
    x0, y0 = chunks[0]
    x1, _ = chunks[1]
    assert x0.shape == (3, 2) and torch.equal(x0[1:], y0[:-1])
    assert torch.equal(torch.cat([x0[:, 0], x1[:, 0]]), stream[:6])


def test_tbptt_step_carries_and_detaches():
    torch.manual_seed(0)
    model = CharLM("lstm", 4, 0)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    state = None
    for inputs, targets in list(stream_chunks(name_stream(["Ana", "Bo", "Kowalski", "Li", "Ito"]), 2, 3))[:3]:
        loss, state = tbptt_step(model, optimizer, inputs, targets, state)
        assert isinstance(loss, float) and not any(s.requires_grad for s in state)
    h, c = detach_state((torch.ones(1, requires_grad=True) * 2, torch.ones(1, requires_grad=True) * 3))
    assert not h.requires_grad and not c.requires_grad and h.item() == 2


def test_position_losses_read_every_token_at_every_position():
    torch.manual_seed(0)
    model = CharLM("gru", 4, 0)
    stream = name_stream(["Ana", "Bo", "Kowalski", "Li", "Ito", "Smith", "Nakamura"])
    losses = position_losses(model, stream, 2, 4, carry=True)
    assert losses.shape == (4,) and torch.isfinite(losses).all()
    assert not torch.allclose(losses, position_losses(model, stream, 2, 4, carry=False))
