"""Tiny settings shared by the tests that run whole experiments (figures, report): seconds, not minutes."""

# the classification experiments: 2 context items, 4 labels, 40 SGD steps of 16 sequences
TINY_DATA = (
    "data.K=8",
    "data.L=4",
    "data.N=2",
    "data.D=7",
    "data.P=5",
    "data.B=1",
    "train.steps=40",
    "train.batch=16",
    "train.eval_every=20",
    "train.eval_size=20",
)
