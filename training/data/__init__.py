"""Training data for the bi-encoder: (query, code) positives with a data card.

``python -m training.data.build --out DIR`` writes ``examples.jsonl`` and the data card; see
``training/README.md`` (section "Training data").
"""
