"""Images in: files, PIL images and arrays to pixels (load), any PIL mode to RGB or grey (modes)."""
