"""The cross-encoder reranker: listwise groups, training, export (torch allowed here)."""
