"""Pictures drawn by code (matplotlib): the unrolled graph that BPTT walks back through, and the LSTM and
GRU cells with their gates. A lesson calls one function and gets a figure, so a picture cannot drift from
the equations the library computes."""
