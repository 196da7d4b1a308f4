"""Video files from frames streamed one at a time: MP4 (H.264 through imageio's ffmpeg plugin) or GIF (Pillow).

Frames arrive at the game's 60 per second. An MP4 keeps every frame; a GIF keeps every `GIF_STRIDE`-th, since GIF
frame delays are coarse and every frame stays in memory until the file is written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

FORMATS = (".mp4", ".gif")
GIF_STRIDE = 4


@contextmanager
def video_writer(path: Path, fps: float = 60.0) -> Iterator[Callable[[np.ndarray], None]]:
    """Yields a function taking (height, width, 3) uint8 frames; the file is complete when the block ends.
    Raises ValueError for an unsupported suffix."""
    import imageio.v2 as imageio

    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"{path}: video must be .mp4 or .gif")
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    if suffix == ".mp4":
        writer = imageio.get_writer(path, format="FFMPEG", fps=fps, codec="libx264", quality=7, macro_block_size=2)
    else:
        writer = imageio.get_writer(path, format="GIF", mode="I", duration=1000 * GIF_STRIDE / fps, loop=0)

    def append(frame: np.ndarray) -> None:
        nonlocal count
        if suffix == ".mp4" or count % GIF_STRIDE == 0:
            writer.append_data(frame)
        count += 1

    try:
        yield append
    finally:
        writer.close()
