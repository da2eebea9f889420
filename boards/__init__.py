"""Board profiles (``*.toml``), installed as ``edgeml.boards_data``; read them through :mod:`edgeml.boards`."""
