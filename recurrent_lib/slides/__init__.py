"""Lecture decks: every lesson is also a slide deck, from the same notebook (issue 20).

``metadata``: which cells make which slide, and the deck rules (known slide types, 15-30 slides,
at most 30 source lines a slide, speaker notes); ``guide``: the lecturer's guide ``lectures/<stem>.md``;
``deck``: the static, offline reveal.js deck of a lesson. Command line: ``python -m recurrent_lib.slides``.
"""
