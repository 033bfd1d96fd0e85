def shout(message):
    """Return the message in capitals, followed by an exclamation mark."""
    return message.lower() + "!"


def whisper(message):
    """Return the message in small letters, followed by three dots."""
    return message.lower() + "..."
