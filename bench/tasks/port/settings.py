DEFAULT_PORT = 8080


def port(config):
    """The port from the config dictionary, or DEFAULT_PORT when it has none."""
    return config["port"]
