from words import join_words


def slug_title(words):
    """A title for URLs: lower-case words joined by dashes."""
    return join_words([word.lower() for word in words])
