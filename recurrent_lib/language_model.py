"""A character-level language model of names: counting baselines, a recurrent model, perplexity, sampling,
and training on one long stream with truncated backpropagation through time.

Tokens. The 57 symbols of :data:`recurrent_lib.data.ALPHABET` (indices 0 to 56) and one more, the
**boundary** token (index 57, :data:`START` = :data:`STOP`, shown as ``|``): as an input it says "a name
starts here", as a target "the name ends here" (makemore uses one token the same way). A name of ``n``
letters is read as ``n + 1`` inputs ``[START, c_1, ..., c_n]`` and predicts ``n + 1`` targets
``[c_1, ..., c_n, STOP]``: the model is **teacher-forced**, fed the true previous letter at every step.

Models (all with the same interface, ``model(tokens (T, B), languages (B,) or None, state=None) ->
(logits (T, B, VOCAB_SIZE), state)``, so that :func:`mean_nll` and :func:`sample` serve them all):

- :class:`CountLM`: a table of log-probabilities from counts, per language -- :func:`uniform_model`
  (every token 1/VOCAB_SIZE), :func:`unigram_model` (how often each token is a target) and
  :func:`bigram_model` (how often it follows the previous token), with add-``alpha`` smoothing.
- :class:`CharLM`: ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU`` reading the one-hot previous token and the one-hot
  language at every step (the PyTorch tutorial's conditioning), read out by a linear layer to the next
  token's logits; ``n_languages=0`` for a model without language.

Sampling (:func:`sample`) runs the model on its device and draws on the CPU from a seeded
``torch.Generator``, in float64, by inverse transform (:func:`draw`): temperature (0 is greedy decoding),
top-k and a prefix to prime with. Truncated BPTT: :func:`name_stream`, :func:`stream_chunks`,
:func:`tbptt_step` and :func:`position_losses`.
"""
import math
from collections.abc import Iterator, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from recurrent_lib.data import ALPHABET, N_LETTERS, letter_indices
from recurrent_lib.runtime import default_device
from recurrent_lib.study import LAYERS, Kind

START: int = N_LETTERS          # 57: the boundary token read before a name's first letter ...
STOP: int = N_LETTERS           # ... and predicted after its last letter
VOCAB_SIZE: int = N_LETTERS + 1
SYMBOLS: str = ALPHABET + "|"   # how a token prints; "|" is the boundary
POOL: int = 8                   # train_names sorts POOL random batches at a time by length
IGNORE: int = -100              # the target of a padded step (F.cross_entropy's default ignore_index)

State = Tensor | tuple[Tensor, Tensor]


def encode(name: str) -> tuple[list[int], list[int]]:
    """The inputs ``[START, c_1, ..., c_n]`` and the targets ``[c_1, ..., c_n, STOP]`` of ``name``."""
    letters = letter_indices(name)
    return [START, *letters], [*letters, STOP]


def name_batch(items: Sequence[tuple[str, int]]) -> tuple[Tensor, Tensor, Tensor]:
    """``(name, language)`` pairs -> tokens (T, B) int64, languages (B,) int64, targets (T, B) int64.

    T is the longest name's length + 1; a shorter name's inputs are padded with STOP and its targets with
    IGNORE, so a padded step adds nothing to the loss (the model reads left to right: padding comes after
    everything it predicts).
    """
    if len(items) == 0:
        raise ValueError("expected at least one (name, language) pair, got an empty sequence")
    encoded = [encode(name) for name, _ in items]
    T = max(len(inputs) for inputs, _ in encoded)
    tokens = torch.full((T, len(items)), STOP, dtype=torch.long)
    targets = torch.full((T, len(items)), IGNORE, dtype=torch.long)
    for b, (inputs, outputs) in enumerate(encoded):
        tokens[:len(inputs), b] = torch.tensor(inputs)
        targets[:len(outputs), b] = torch.tensor(outputs)
    return tokens, torch.tensor([language for _, language in items], dtype=torch.long), targets


def _check_tokens(tokens: Tensor, languages: Tensor | None, n_languages: int) -> None:
    if not isinstance(tokens, Tensor) or tokens.dim() != 2 or tokens.dtype != torch.long:
        raise ValueError(f"expected tokens as an int64 tensor (T, batch), got "
                         f"{tuple(tokens.shape) if isinstance(tokens, Tensor) else type(tokens).__name__}"
                         f"{' of dtype ' + str(tokens.dtype) if isinstance(tokens, Tensor) else ''}")
    if n_languages and (languages is None or tuple(languages.shape) != (tokens.shape[1],)):
        raise ValueError(f"expected languages (batch,) = ({tokens.shape[1]},), one per name, got "
                         f"{None if languages is None else tuple(languages.shape)}")


class CountLM(nn.Module):
    """A count model: ``log_probs`` (L, VOCAB_SIZE) for a unigram (the previous token is ignored) or
    (L, VOCAB_SIZE, VOCAB_SIZE) for a bigram, ``log p(next | previous, language)``, float64.

    forward(tokens (T, B), languages (B,), state=None) -> (log-probs (T, B, VOCAB_SIZE) as logits, None).
    """

    def __init__(self, log_probs: Tensor) -> None:
        super().__init__()
        if log_probs.dim() not in (2, 3) or log_probs.shape[-1] != VOCAB_SIZE:
            raise ValueError(f"expected log_probs (L, {VOCAB_SIZE}) or (L, {VOCAB_SIZE}, {VOCAB_SIZE}), "
                             f"got {tuple(log_probs.shape)}")
        self.register_buffer("log_probs", log_probs)

    @classmethod
    def from_counts(cls, counts: Tensor, alpha: float) -> "CountLM":
        """The model of ``counts`` (L, V) or (L, V, V) with add-``alpha`` smoothing over the last dimension."""
        if not alpha >= 0:
            raise ValueError(f"expected a smoothing alpha >= 0, got {alpha!r}")
        counts = counts.double() + alpha
        return cls((counts / counts.sum(dim=-1, keepdim=True)).log())

    def forward(self, tokens: Tensor, languages: Tensor | None = None, state: None = None) -> tuple[Tensor, None]:
        _check_tokens(tokens, languages, self.log_probs.shape[0])
        languages = languages.to(self.log_probs.device).expand(tokens.shape)
        if self.log_probs.dim() == 2:
            return self.log_probs[languages], None
        return self.log_probs[languages, tokens.to(self.log_probs.device)], None


def unigram_counts(items: Sequence[tuple[str, int]], n_languages: int) -> Tensor:
    """(L, VOCAB_SIZE) int64: how often each token is a target (every letter, and STOP once per name)."""
    counts = torch.zeros(n_languages, VOCAB_SIZE, dtype=torch.long)
    for name, language in items:
        counts[language] += torch.bincount(torch.tensor(encode(name)[1]), minlength=VOCAB_SIZE)
    return counts


def bigram_counts(items: Sequence[tuple[str, int]], n_languages: int) -> Tensor:
    """(L, VOCAB_SIZE, VOCAB_SIZE) int64: ``[language, previous, next]``, START -> first letter and last
    letter -> STOP included."""
    counts = torch.zeros(n_languages, VOCAB_SIZE * VOCAB_SIZE, dtype=torch.long)
    for name, language in items:
        inputs, targets = encode(name)
        counts[language] += torch.bincount(torch.tensor(inputs) * VOCAB_SIZE + torch.tensor(targets),
                                           minlength=VOCAB_SIZE * VOCAB_SIZE)
    return counts.reshape(n_languages, VOCAB_SIZE, VOCAB_SIZE)


def uniform_model(n_languages: int) -> CountLM:
    """Every token equally likely, whatever came before: perplexity VOCAB_SIZE exactly."""
    return CountLM(torch.full((n_languages, VOCAB_SIZE), -math.log(VOCAB_SIZE), dtype=torch.float64))


def unigram_model(items: Sequence[tuple[str, int]], n_languages: int, alpha: float) -> CountLM:
    """p(next | language) = (count + alpha) / (total + alpha * VOCAB_SIZE)."""
    return CountLM.from_counts(unigram_counts(items, n_languages), alpha)


def bigram_model(items: Sequence[tuple[str, int]], n_languages: int, alpha: float) -> CountLM:
    """p(next | previous, language) = (count + alpha) / (count of previous + alpha * VOCAB_SIZE)."""
    return CountLM.from_counts(bigram_counts(items, n_languages), alpha)


class CharLM(nn.Module):
    """A recurrent character-level language model, conditioned on the language.

    x_t = [one_hot(token_{t-1}) (VOCAB_SIZE); one_hot(language) (n_languages)], the layer
    (``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU``, one layer, sequence-first) gives h_t, and the logits of the next
    token are ``out(h_t)`` (VOCAB_SIZE). forward(tokens (T, B), languages (B,) or None, state=None) ->
    (logits (T, B, VOCAB_SIZE), state): h_n (1, B, H), or (h_n, c_n) for an LSTM.
    """

    def __init__(self, kind: Kind, hidden_size: int, n_languages: int) -> None:
        super().__init__()
        if kind not in LAYERS:
            raise ValueError(f"expected kind 'rnn', 'lstm' or 'gru', got {kind!r}")
        self.kind, self.n_languages = kind, n_languages
        self.rnn = LAYERS[kind](VOCAB_SIZE + n_languages, hidden_size)
        self.out = nn.Linear(hidden_size, VOCAB_SIZE)

    def forward(self, tokens: Tensor, languages: Tensor | None = None,
                state: State | None = None) -> tuple[Tensor, State]:
        _check_tokens(tokens, languages, self.n_languages)
        device = self.out.weight.device
        x = F.one_hot(tokens.to(device), VOCAB_SIZE).float()                                   # (T, B, V)
        if self.n_languages:
            language = F.one_hot(languages.to(device), self.n_languages).float()                # (B, L)
            x = torch.cat((x, language.expand(tokens.shape[0], -1, -1)), dim=-1)                 # (T, B, V + L)
        output, state = self.rnn(x, state)
        return self.out(output), state


def model_device(model: nn.Module) -> torch.device:
    """Where ``model``'s parameters (or buffers) live."""
    return next(iter([*model.parameters(), *model.buffers()])).device


def nll_sum(model: nn.Module, items: Sequence[tuple[str, int]], batch_size: int = 512) -> tuple[float, int]:
    """(sum of -log p(target) over every target token of ``items``, in float64; the number of targets)."""
    total, count = 0.0, 0
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for start in range(0, len(items), batch_size):
            tokens, languages, targets = name_batch(items[start:start + batch_size])
            logits, _ = model(tokens, languages)
            targets = targets.to(logits.device)
            loss = F.cross_entropy(logits.double().flatten(0, 1), targets.flatten(), reduction="sum")
            total += loss.item()
            count += int((targets != IGNORE).sum())
    model.train(was_training)
    return total, count


def mean_nll(model: nn.Module, items: Sequence[tuple[str, int]]) -> float:
    """The mean negative log-likelihood per character (STOP counts as one), in nats."""
    total, count = nll_sum(model, items)
    return total / count


def perplexity(model: nn.Module, items: Sequence[tuple[str, int]]) -> float:
    """exp(mean NLL per character): the number of equally likely choices the model is as unsure as."""
    return math.exp(mean_nll(model, items))


def train_names(model: CharLM, items: Sequence[tuple[str, int]], *, steps: int, batch_size: int, lr: float,
                seed: int, device: torch.device | str | None = None) -> list[float]:
    """Adam on random minibatches of names (drawn with ``seed``), teacher-forced, the mean loss per character;
    the gradient's global norm clipped at 1. Returns the loss of every step."""
    device = torch.device(device) if device is not None else default_device()
    model.to(device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(seed)
    all_tokens, all_languages, all_targets = name_batch(items)                      # (T_max, N), (N,), (T_max, N)
    lengths = (all_targets != IGNORE).sum(dim=0)                                   # (N,) letters + 1
    losses = []
    batches: list[Tensor] = []
    for _ in range(steps):
        if not batches:  # a pool of POOL random batches, sorted by length: less padding, still random batches
            pool = torch.randint(len(items), (POOL * batch_size,), generator=generator)
            pool = pool[lengths[pool].argsort(stable=True)]
            batches = [pool[i * batch_size:(i + 1) * batch_size] for i in torch.randperm(POOL, generator=generator)]
        picks = batches.pop()
        T = int(lengths[picks].max())
        tokens, targets = all_tokens[:T, picks], all_targets[:T, picks]
        logits, _ = model(tokens, all_languages[picks])
        loss = F.cross_entropy(logits.flatten(0, 1), targets.to(device).flatten(), ignore_index=IGNORE)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        losses.append(loss.item())
    return losses


def next_token_probs(logits: Tensor, temperature: float = 1.0, top_k: int | None = None) -> Tensor:
    """logits (B, V) -> probabilities (B, V) float64 on the CPU: softmax(logits / temperature) over the
    ``top_k`` largest logits (the others get probability 0); temperature 0 puts all of it on the argmax."""
    if not temperature >= 0:
        raise ValueError(f"expected a temperature >= 0, got {temperature!r}")
    if top_k is not None and not (isinstance(top_k, int) and 1 <= top_k <= logits.shape[-1]):
        raise ValueError(f"expected top_k None or an int from 1 to {logits.shape[-1]}, got {top_k!r}")
    logits = logits.detach().double().cpu()
    if temperature == 0:
        return F.one_hot(logits.argmax(dim=-1), logits.shape[-1]).double()
    if top_k is not None:
        kth = logits.topk(top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    return F.softmax(logits / temperature, dim=-1)


def draw(probs: Tensor, generator: torch.Generator) -> Tensor:
    """One token per row of ``probs`` (B, V) by inverse transform: the first index whose cumulative
    probability exceeds u * total, u uniform in [0, 1) from ``generator`` (B,) int64. Same generator state,
    same probabilities: same tokens, on any machine."""
    u = torch.rand(probs.shape[0], 1, generator=generator, dtype=torch.float64)
    cumulative = probs.double().cumsum(dim=-1)
    index = torch.searchsorted(cumulative, u * cumulative[:, -1:], right=True).squeeze(1)
    return index.clamp(max=probs.shape[-1] - 1)


def entropy(probs: Tensor) -> Tensor:
    """-sum p log p over the last dimension, in nats (0 log 0 = 0)."""
    return -(probs * probs.clamp_min(1e-300).log()).sum(dim=-1)


def sample(model: nn.Module, languages: Sequence[int] | Tensor | None, generator: torch.Generator, *,
           temperature: float = 1.0, top_k: int | None = None, prefix: str = "", max_length: int = 20,
           n: int | None = None, entropies: list[float] | None = None) -> list[str]:
    """One name per entry of ``languages`` (or ``n`` names for a model without language), drawn letter by
    letter until STOP or ``max_length`` letters. The model runs on its device; the draws are made on the
    CPU from ``generator`` (:func:`draw`). ``prefix`` is read first (priming) and starts every name; STOP is
    not part of a name. If ``entropies`` is a list, the entropy of every next-token distribution the names
    were drawn from (before the draw, for names still running) is appended to it.
    """
    if languages is not None:
        languages = torch.as_tensor(languages, dtype=torch.long).reshape(-1)
    B = len(languages) if languages is not None else n
    if not B:
        raise ValueError("expected at least one language (or n >= 1 for a model without language)")
    if not (isinstance(max_length, int) and max_length >= 1):
        raise ValueError(f"expected max_length a positive int, got {max_length!r}")
    prefix_tokens = letter_indices(prefix) if prefix else []
    device = model_device(model)
    if languages is not None:
        languages = languages.to(device)
    names = [list(prefix_tokens) for _ in range(B)]
    running = torch.ones(B, dtype=torch.bool)
    was_training = model.training
    model.eval()
    with torch.no_grad():
        tokens = torch.tensor([START, *prefix_tokens]).unsqueeze(1).expand(-1, B)               # (1 + P, B)
        logits, state = model(tokens.to(device), languages)
        length = len(prefix_tokens)
        while True:
            probs = next_token_probs(logits[-1], temperature, top_k)                           # (B, V) CPU
            if entropies is not None:
                entropies.extend(entropy(probs[running]).tolist())
            token = draw(probs, generator)                                                     # (B,)
            for b in running.nonzero().flatten().tolist():
                if token[b] == STOP:
                    running[b] = False
                else:
                    names[b].append(int(token[b]))
            length += 1
            if not running.any() or length >= max_length:
                break
            logits, state = model(token.unsqueeze(0).to(device), languages, state)
    model.train(was_training)
    return ["".join(ALPHABET[i] for i in letters) for letters in names]


def novelty(samples: Sequence[str], train: Sequence[str], held_out: Sequence[str]) -> dict[str, int]:
    """How many of ``samples`` (each sample counts, repeats too) are names of the training set, else of the
    held-out set, else new: {"train": ..., "held-out": ..., "new": ...}."""
    train_set, held_out_set = set(train), set(held_out)
    counts = {"train": 0, "held-out": 0, "new": 0}
    for name in samples:
        counts["train" if name in train_set else "held-out" if name in held_out_set else "new"] += 1
    return counts


# ------------------------------------------------------------------ one long stream, truncated BPTT

def name_stream(names: Sequence[str]) -> Tensor:
    """The names as one token stream (N,) int64: ``| name | name | ... |`` (the boundary between names)."""
    tokens = [START]
    for name in names:
        tokens += [*letter_indices(name), STOP]
    return torch.tensor(tokens)


def stream_chunks(stream: Tensor, batch_size: int, chunk: int) -> Iterator[tuple[Tensor, Tensor]]:
    """The stream cut into ``batch_size`` contiguous rows, read ``chunk`` steps at a time (d2l's sequential
    partitioning): (inputs (chunk, B), targets (chunk, B)), targets one token ahead. Row b of a chunk
    continues row b of the previous chunk, so a state carried across chunks is the right one."""
    columns = (len(stream) - 1) // batch_size
    columns -= columns % chunk
    inputs = stream[:batch_size * columns].reshape(batch_size, columns).T                       # (columns, B)
    targets = stream[1:batch_size * columns + 1].reshape(batch_size, columns).T
    for start in range(0, columns, chunk):
        yield inputs[start:start + chunk], targets[start:start + chunk]


def detach_state(state: State) -> State:
    """The state's values without their history: (h, c) pairs too."""
    return tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()


def tbptt_step(model: nn.Module, optimizer: torch.optim.Optimizer, inputs: Tensor, targets: Tensor,
               state: State | None, *, detach: bool = True, retain_graph: bool = False) -> tuple[float, State]:
    """One step of truncated BPTT: forward ``inputs`` (K, B) from ``state``, the mean loss over the K * B
    targets, backward, optimizer step. Returns (loss, final state), the state detached unless ``detach=False``
    (then the next backward would run back through this chunk too)."""
    device = model_device(model)
    logits, state = model(inputs.to(device), None, state)
    loss = F.cross_entropy(logits.flatten(0, 1), targets.to(device).flatten())
    optimizer.zero_grad()
    loss.backward(retain_graph=retain_graph)
    optimizer.step()
    return loss.item(), detach_state(state) if detach else state


def position_losses(model: nn.Module, stream: Tensor, batch_size: int, chunk: int, *, carry: bool) -> Tensor:
    """The mean loss at each position 0..chunk-1 of a chunk (chunk,) float64, the state carried from chunk
    to chunk (``carry=True``) or started from zeros in every chunk. The stream is read ``chunk`` times, its
    start shifted by 0, 1, ..., chunk - 1 tokens, so that every token is predicted once at every position:
    the positions differ only in the context the model had, not in which letters fell there."""
    device = model_device(model)
    sums = torch.zeros(chunk, dtype=torch.float64)
    count = 0
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for offset in range(chunk):
            state = None
            for inputs, targets in stream_chunks(stream[offset:], batch_size, chunk):
                logits, state = model(inputs.to(device), None, state if carry else None)
                loss = F.cross_entropy(logits.flatten(0, 1).double(), targets.to(device).flatten(), reduction="none")
                sums += loss.reshape(chunk, -1).sum(dim=1).cpu()
                count += inputs.shape[1]
    model.train(was_training)
    return sums / count
