"""recurrent_lib.classifiers: the tutorial's RNN and the batched SequenceClassifier."""
import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_sequence, pad_packed_sequence

import recurrent_lib
from recurrent_lib import seed_everything
from recurrent_lib.classifiers import SequenceClassifier, TutorialRNN, tutorial_predict, tutorial_train_step

# torch's CPU LSTM says so when proj_size > 0 (it falls back to its plain implementation)
pytestmark = pytest.mark.filterwarnings("ignore:LSTM with projections is not supported with oneDNN")


def one_hot_name(indices: list[int], n_letters: int = 57) -> torch.Tensor:
    """(len, 1, n_letters), the tutorial's encoding of a name given as letter indices."""
    return F.one_hot(torch.tensor(indices), n_letters).float().unsqueeze(1)


# --- TutorialRNN -------------------------------------------------------------------------------

def test_tutorial_rnn_prints_like_the_seed():
    text = str(TutorialRNN(57, 128, 18))
    assert text.splitlines() == [
        "TutorialRNN(",
        "  (i2h): Linear(in_features=185, out_features=128, bias=True)",
        "  (i2o): Linear(in_features=185, out_features=18, bias=True)",
        "  (softmax): LogSoftmax(dim=1)",
        ")",
    ]


def test_tutorial_rnn_step_is_two_linear_maps_of_the_combined_input_without_tanh():
    seed_everything(0)
    model = TutorialRNN(5, 4, 3)
    x_t, h_prev = torch.randn(1, 5), torch.randn(1, 4)
    combined = torch.cat([x_t, h_prev], dim=1)
    output, h_t = model(x_t, h_prev)
    torch.testing.assert_close(h_t, combined @ model.i2h.weight.T + model.i2h.bias)
    torch.testing.assert_close(output, torch.log_softmax(combined @ model.i2o.weight.T + model.i2o.bias, dim=1))
    assert torch.equal(model.init_hidden(), torch.zeros(1, 4))


def reference_tutorial_train(rnn, category_tensor, line_tensor, learning_rate=0.005):
    """The PyTorch tutorial's train(), verbatim apart from the names."""
    criterion = nn.NLLLoss()
    hidden = torch.zeros(1, rnn.hidden_size)
    rnn.zero_grad()
    for i in range(line_tensor.size()[0]):
        output, hidden = rnn(line_tensor[i], hidden)
    loss = criterion(output, category_tensor)
    loss.backward()
    for p in rnn.parameters():
        p.data.add_(p.grad.data, alpha=-learning_rate)
    return output, loss.item()


def test_tutorial_train_step_is_the_tutorials_update():
    seed_everything(0)
    model = TutorialRNN(57, 16, 18)
    reference = copy.deepcopy(model)
    name = one_hot_name([33, 0, 19, 14])  # "Hato"
    loss = tutorial_train_step(model, name, 7)  # default lr: the tutorial's 0.005
    _, reference_loss = reference_tutorial_train(reference, torch.tensor([7]), name, learning_rate=0.005)
    assert loss == reference_loss
    for (key, p), q in zip(model.named_parameters(), reference.parameters()):
        torch.testing.assert_close(p, q, rtol=0, atol=0, msg=key)
    # repeated steps on the same name drive its loss down
    losses = [tutorial_train_step(model, name, 7, lr=0.05) for _ in range(30)]
    assert losses[-1] < 0.5 * losses[0]


def test_tutorial_predict_gives_log_probabilities_after_the_last_letter():
    seed_everything(0)
    model = TutorialRNN(57, 16, 18)
    name = one_hot_name([1, 2, 3])
    log_probs = tutorial_predict(model, name)
    assert log_probs.shape == (1, 18) and not log_probs.requires_grad
    torch.testing.assert_close(log_probs.exp().sum(), torch.tensor(1.0))
    hidden = torch.zeros(1, 16)
    for x_t in name:
        expected, hidden = model(x_t, hidden)
    torch.testing.assert_close(log_probs, expected.detach())


@pytest.mark.parametrize(
    ("tensor", "message"),
    [
        (torch.zeros(5, 57), r"expected a name tensor of shape \(length, 1, 57\), got \(5, 57\)"),
        (torch.zeros(5, 1, 7), r"expected a name tensor of shape \(length, 1, 57\), got \(5, 1, 7\)"),
        (torch.zeros(5, 2, 57), r"expected a name tensor of shape \(length, 1, 57\), got \(5, 2, 57\)"),
        (torch.zeros(0, 1, 57), r"expected a name tensor of shape \(length, 1, 57\), got \(0, 1, 57\)"),
    ],
)
def test_tutorial_functions_reject_a_name_tensor_of_the_wrong_shape(tensor, message):
    model = TutorialRNN(57, 8, 18)
    with pytest.raises(ValueError, match=message):
        tutorial_train_step(model, tensor, 0)
    with pytest.raises(ValueError, match=message):
        tutorial_predict(model, tensor)


def test_tutorial_train_step_rejects_a_label_out_of_range():
    with pytest.raises(ValueError, match=r"expected a label in \[0, 18\), got 18"):
        tutorial_train_step(TutorialRNN(57, 8, 18), one_hot_name([1]), 18)


# --- SequenceClassifier ------------------------------------------------------------------------

def test_sequence_classifier_prints_like_the_seed():
    text = str(SequenceClassifier(nn.LSTM(57, 64), 18))
    assert text.splitlines() == [
        "SequenceClassifier(",
        "  (rnn): LSTM(57, 64)",
        "  (out): Linear(in_features=64, out_features=18, bias=True)",
        "  (softmax): LogSoftmax(dim=-1)",
        ")",
    ]


LAYERS = {
    "RNN": lambda: nn.RNN(6, 5),
    "RNN relu, 2 layers": lambda: nn.RNN(6, 5, num_layers=2, nonlinearity="relu"),
    "LSTM": lambda: nn.LSTM(6, 5),
    "GRU": lambda: nn.GRU(6, 5),
    "bidirectional GRU, 2 layers": lambda: nn.GRU(6, 5, num_layers=2, bidirectional=True),
    "bidirectional LSTM": lambda: nn.LSTM(6, 5, bidirectional=True),
    "LSTM proj_size": lambda: nn.LSTM(6, 5, proj_size=3),
    "bidirectional LSTM proj_size, 2 layers": lambda: nn.LSTM(6, 5, num_layers=2, bidirectional=True, proj_size=3),
}


def random_sequences(lengths, features=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(n, features, generator=g) for n in lengths]


@pytest.mark.parametrize("make_rnn", LAYERS.values(), ids=LAYERS.keys())
def test_sequence_classifier_reads_the_last_layers_final_state(make_rnn):
    """Expected scores come from the layer's per-step outputs: forward direction at each sequence's
    last step, reverse direction at step 0."""
    seed_everything(0)
    rnn = make_rnn()
    model = SequenceClassifier(rnn, 4)
    out_size = (rnn.proj_size or rnn.hidden_size) * (2 if rnn.bidirectional else 1)
    assert model.out.in_features == out_size
    seqs = random_sequences([4, 7, 1])
    packed = pack_sequence(seqs, enforce_sorted=False)
    log_probs = model(packed)
    assert log_probs.shape == (3, 4)

    outputs, lengths = pad_packed_sequence(rnn(packed)[0])  # (L, B, directions * size)
    size = out_size // (2 if rnn.bidirectional else 1)
    final = outputs[lengths - 1, torch.arange(3), :size]
    if rnn.bidirectional:
        final = torch.cat([final, outputs[0, :, size:]], dim=-1)
    torch.testing.assert_close(log_probs, F.log_softmax(model.out(final), dim=-1))
    # a packed batch classifies each name as if it were alone
    for b, seq in enumerate(seqs):
        torch.testing.assert_close(model(seq.unsqueeze(1))[0], log_probs[b])


def test_sequence_classifier_accepts_batch_first_tensors():
    seed_everything(0)
    model = SequenceClassifier(nn.GRU(6, 5, batch_first=True), 4)
    x = torch.randn(3, 7, 6)  # (B, L, F)
    torch.testing.assert_close(model(x), F.log_softmax(model.out(model.rnn(x)[0][:, -1]), dim=-1))


@pytest.mark.parametrize("module", [nn.Linear(6, 5), nn.RNNCell(6, 5), nn.LSTMCell(6, 5)], ids=type)
def test_sequence_classifier_rejects_modules_that_are_not_recurrent_layers(module):
    with pytest.raises(TypeError, match=f"needs a recurrent layer .* got {type(module).__name__}"):
        SequenceClassifier(module, 4)


TWINS = {
    "RNN": ("RNN", dict(num_layers=2)),
    "LSTM": ("LSTM", dict(bidirectional=True)),
    "LSTM proj_size": ("LSTM", dict(proj_size=3)),
    "GRU": ("GRU", dict(num_layers=2, bidirectional=True)),
}


@pytest.mark.parametrize(("name", "kwargs"), TWINS.values(), ids=TWINS.keys())
def test_sequence_classifier_works_with_recurrent_lib_twins(name, kwargs):
    """The same weights in torch.nn's layer and in recurrent_lib's twin give the same classifier."""
    seed_everything(0)
    reference = SequenceClassifier(getattr(nn, name)(6, 5, **kwargs), 4)
    twin = SequenceClassifier(getattr(recurrent_lib, name)(6, 5, **kwargs), 4)
    twin.load_state_dict(reference.state_dict())
    packed = pack_sequence(random_sequences([3, 6, 2]), enforce_sorted=False)
    torch.testing.assert_close(twin(packed), reference(packed))
