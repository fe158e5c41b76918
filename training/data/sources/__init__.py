"""Sources of (query, code) positives: the catalog itself, GNU Health's multilingual WHO
titles, and CodiEsp train mentions."""
