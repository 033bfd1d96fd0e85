def join_words(words):
    """Join words with a single space."""
    return " ".join(words)
