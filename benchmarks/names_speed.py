"""How much faster is batched, packed training than the tutorial's one-name-at-a-time loop?

Names by language (``recurrent_lib.data.load_names()``), hidden size 128 on both sides:

(a) the PyTorch tutorial's way: ``TutorialRNN(57, 128, 18)``; each step draws a language uniformly
    at random, then a name of that language (the tutorial's ``randomTrainingExample``), and takes one
    plain SGD step (lr 0.005) on that one name (``tutorial_train_step``). A fixed budget of steps;
    every ``--eval-every`` steps it is scored on the validation split. The target accuracy is its
    validation accuracy at the end of the budget; its time, the training time until it first
    reached the target (at that check or an earlier one).
(b) ``SequenceClassifier(nn.RNN(57, 128), 18)`` trained by ``recurrent_lib.train.fit``: shuffled
    minibatches of packed one-hot names, Adam, for ``--epochs`` epochs. Every ``--check-every``
    steps until it first reaches the target accuracy on the validation split it is scored; its
    time is the training time until then. Seeded, it takes the same steps every time, so the
    run to the target is repeated ``--repeats`` times and its median time counts: (b) reaches the
    target within a second or so, where one burst of another process's work would otherwise decide
    the result, while (a)'s long run averages such bursts out by itself.

Timing: wall-clock time of the training steps only (letters to tensors, forward, backward, update;
for (b) also fit's set-up). Evaluation is excluded on both sides the same way: the clock stops
before scoring the validation split and restarts after it. A warm-up before either clock starts
pays the one-time costs (torch's first kernels, and the import that creating the first
``torch.optim`` optimizer triggers, which (a) never needs). On a GPU the clock reads after a
``torch.cuda.synchronize()``. The accuracies reported are each side's final ones, on the test
split, at the end of its own budget: (a) after ``--steps`` names, (b) after ``--epochs`` epochs.

Threads: one torch thread for both sides unless ``--threads`` says otherwise (0: torch's default).
These matrices are small (at most 64 x 185): a second thread gains little, and on a CPU that other
processes also use, torch's threads stall waiting for each other, slowing (b)'s batched products by
up to 20x at random, which would make the comparison a measure of the machine's load.

    python benchmarks/names_speed.py [--device cuda] [--threads N] [--quick]

The last line reads ``speedup=<x> baseline_acc=<a> batched_acc=<b>``: (a)'s time to the target over (b)'s,
and the final test accuracies.
"""
import argparse
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from recurrent_lib.classifiers import SequenceClassifier, TutorialRNN, tutorial_predict, tutorial_train_step
from recurrent_lib.data import LANGUAGES, N_LETTERS, collate_names, load_names, name_to_tensor
from recurrent_lib.runtime import default_device, seed_everything
from recurrent_lib.train import evaluate, fit

HIDDEN = 128
Items = Sequence[tuple[str, int]]  # (name, language index)


@dataclass
class Outcome:
    label: str
    examples: int          # names trained on until the target was first reached
    seconds: float | None  # training time until then (None: never reached)
    val_acc: float         # at the end of the budget
    test_acc: float        # at the end of the budget


class Clock:
    """Accumulates training time between start() and stop(), synchronising the GPU first."""

    def __init__(self, device: torch.device) -> None:
        self.device, self.total, self._since = device, 0.0, 0.0

    def _now(self) -> float:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        return time.perf_counter()

    def start(self) -> None:
        self._since = self._now()

    def stop(self) -> float:
        self.total += self._now() - self._since
        return self.total


def tutorial_accuracy(model: TutorialRNN, items: Items) -> float:
    hits = sum(int(tutorial_predict(model, name_to_tensor(name)).argmax()) == label for name, label in items)
    return hits / len(items)


def warm_up(train: Items, device: torch.device) -> None:
    """A few steps of each side on throwaway models, so neither clock pays one-time costs."""
    model = TutorialRNN(N_LETTERS, HIDDEN, len(LANGUAGES)).to(device)
    for name, label in train[:10]:
        tutorial_train_step(model, name_to_tensor(name), label)
    fit(SequenceClassifier(nn.RNN(N_LETTERS, HIDDEN), len(LANGUAGES)), train[:128], collate=collate_names,
        epochs=1, device=device, progress=False)


def run_tutorial(train: Items, val: Items, test: Items, *, steps: int, eval_every: int, device: torch.device, seed: int,
                 log: Callable[[str], None]) -> tuple[Outcome, float]:
    """(a); returns its outcome and the target accuracy."""
    seed_everything(seed)
    model = TutorialRNN(N_LETTERS, HIDDEN, len(LANGUAGES)).to(device)
    by_language = [[name for name, label in train if label == k] for k in range(len(LANGUAGES))]
    rng = random.Random(seed)
    clock = Clock(device)
    checkpoints = []  # (names, seconds, val accuracy, weights)
    for done in range(eval_every, steps + 1, eval_every):
        clock.start()
        for _ in range(eval_every):
            label = rng.randrange(len(LANGUAGES))
            tutorial_train_step(model, name_to_tensor(rng.choice(by_language[label])), label)
        seconds = clock.stop()
        acc = tutorial_accuracy(model, val)
        log(f"  (a) {done:6d} names  {seconds:7.2f} s  val acc {acc:.3f}")
        checkpoints.append((done, seconds, acc))
    target = checkpoints[-1][2]
    done, seconds = next((done, seconds) for done, seconds, acc in checkpoints if acc >= target)
    log(f"target: (a)'s final validation accuracy {target:.3f}, first reached after {done} names")
    return Outcome("(a) tutorial: 1 name/step, SGD", done, seconds, target, tutorial_accuracy(model, test)), target


def run_batched(train: Items, val: Items, test: Items, *, target: float, batch_size: int, lr: float,
                check_every: int, epochs: int, device: torch.device, seed: int, stop_at_target: bool,
                log: Callable[[str], None]) -> Outcome:
    """(b); its clock stops at the first check that reaches ``target`` on the validation split, and
    so does its training if ``stop_at_target``, else it goes on to the end of its ``epochs``."""
    seed_everything(seed)
    model = SequenceClassifier(nn.RNN(N_LETTERS, HIDDEN), len(LANGUAGES))
    clock = Clock(device)
    reached: dict[str, float] = {}
    steps_per_epoch = -(-len(train) // batch_size)

    def names_seen(step: int) -> int:
        epochs, rest = divmod(step, steps_per_epoch)
        return epochs * len(train) + min(rest * batch_size, len(train))

    def check(step: int, loss: float) -> bool:
        if reached or step % check_every:
            return False
        seconds = clock.stop()
        acc = evaluate(model, val, collate=collate_names, device=device).accuracy
        log(f"  (b) {names_seen(step):6d} names  {seconds:7.2f} s  val acc {acc:.3f}")
        if acc >= target:
            reached.update(names=names_seen(step), seconds=seconds)
            return stop_at_target
        clock.start()
        return False

    clock.start()
    fit(model, train, collate=collate_names, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed,
        device=device, progress=False, on_batch_end=check)
    if not reached:
        clock.stop()
        log(f"  (b) did not reach {target:.3f} in {epochs} epochs")
    val_acc, test_acc = (evaluate(model, items, collate=collate_names, device=device).accuracy for items in (val, test))
    return Outcome(f"(b) fit: packed batches of {batch_size}, Adam", int(reached.get("names", 0)),
                   reached.get("seconds"), val_acc, test_acc)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default=str(default_device()), help="default: recurrent_lib.default_device()")
    parser.add_argument("--quick", action="store_true", help="a smoke run: overrides the budgets with tiny ones, small evaluation sets")
    parser.add_argument("--steps", type=int, default=20_000, help="(a)'s budget of names (default 20000)")
    parser.add_argument("--eval-every", type=int, default=2_000, help="(a) is scored every this many names")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-2, help="(b)'s Adam learning rate")
    parser.add_argument("--check-every", type=int, default=5, help="(b) is scored every this many batches")
    parser.add_argument("--epochs", type=int, default=10, help="(b)'s budget of epochs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3, help="(b) is run this many times; its median time counts")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch.set_num_threads for both sides (default 1; 0: torch's default)")
    args = parser.parse_args(argv)
    if args.quick:
        args.steps, args.eval_every, args.check_every, args.epochs = 100, 50, 2, 1
    return args


def main(argv: Sequence[str] | None = None) -> tuple[Outcome, Outcome, float]:
    """Runs (a), then (b) against (a)'s target; returns both outcomes and the target accuracy."""
    args = parse_args(argv)
    device = torch.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    splits = load_names()
    train, val, test = splits.train, splits.val, splits.test
    if args.quick:
        val, test = val[:50], test[:50]
    print(f"names: {len(train)} train, {len(val)} val, {len(test)} test, {len(LANGUAGES)} languages; "
          f"device {device}, torch threads {torch.get_num_threads()}")
    warm_up(train, device)

    tutorial, target = run_tutorial(train, val, test, steps=args.steps, eval_every=args.eval_every,
                                    device=device, seed=args.seed, log=print)
    runs = [run_batched(train, val, test, target=target, batch_size=args.batch_size, lr=args.lr,
                        check_every=args.check_every, epochs=args.epochs, device=device, seed=args.seed,
                        stop_at_target=repeat > 0, log=print if repeat == 0 else lambda line: None)
            for repeat in range(args.repeats)]
    batched = runs[0]  # trained to the end of its budget; the repeats only time the way to the target
    batched.seconds = sorted(run.seconds or 0.0 for run in runs)[len(runs) // 2] if batched.seconds else None
    if batched.seconds is not None and len(runs) > 1:
        times = ", ".join(f"{run.seconds:.2f}" for run in runs)
        print(f"  (b) {len(runs)} identical runs took {times} s to reach the target; the median counts")

    print(f"\n{'':40s} {'to reach the target:':>22s} {'at the end of the budget:':>26s}")
    print(f"{'':40s} {'names seen':>10s} {'train time':>11s} {'val acc':>12s} {'test acc':>13s}")
    for outcome in (tutorial, batched):
        seconds = "not reached" if outcome.seconds is None else f"{outcome.seconds:.2f} s"
        print(f"{outcome.label:40s} {outcome.examples:10d} {seconds:>11s} {outcome.val_acc:12.3f} "
              f"{outcome.test_acc:13.3f}")
    speedup = tutorial.seconds / batched.seconds if batched.seconds else 0.0
    print(f"speedup={speedup:.1f} baseline_acc={tutorial.test_acc:.3f} batched_acc={batched.test_acc:.3f}")
    return tutorial, batched, target


if __name__ == "__main__":
    main()
