"""The Super Mario Bros. ROM, found or fetched, checked, and registered as a stable-retro integration.

stable-retro carries the game's integration (RAM variables, Level save states) but no ROM. We take one from, in
order: a path the user gives (`env.rom`, `--rom`, or $EVOLVE_MARIO_ROM), our cache, or the gym-super-mario-bros
7.4.0 wheel, downloaded with `pip download --no-deps` as data (never installed: its emulator and pins clash with
ours) and opened as a zip. The ROM is identified by the SHA-1 of its contents after the iNES header, as
stable-retro identifies ROMs, and must be a known dump; no file or zip member over MAX_ROM_BYTES is read, and a
cached ROM is used only when it is the known dump its cache directory is named by.

The integration directory we register shadows stable-retro's own `SuperMarioBros-Nes-v0` entry: our rom.nes,
rom.sha, data.json and scenario.json are found first, while the Level save states (and metadata.json) fall through
to stable-retro's copy, so every stock state (Level1-1 ... Level8-1) works.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from envs.task import TaskSetupError
from genomes.atomic_io import write_bytes_atomic

GAME = "SuperMarioBros-Nes-v0"
WHEEL_REQUIREMENT = "gym-super-mario-bros==7.4.0"
WHEEL_MEMBER = "gym_super_mario_bros/_roms/super-mario-bros.nes"
# Header-stripped SHA-1s of the dumps whose layout matches stable-retro's save states.
KNOWN_DUMPS = {
    "0c4992fc08d2278697339d3b48066e7b5f943598": "Super Mario Bros. (gym-super-mario-bros 7.4.0)",
    "facee9c577a5262dbe33ac4930bb0b58c8c037f7": "Super Mario Bros. (World) (stable-retro's rom.sha)",
}
WHEEL_SHA1 = "0c4992fc08d2278697339d3b48066e7b5f943598"
MAX_ROM_BYTES = 1 << 20  # an NES ROM of Super Mario Bros. is about 40 KiB; nothing bigger is read
HOW_TO_PROVIDE = (
    "set env.rom (or --rom, or $EVOLVE_MARIO_ROM) to a Super Mario Bros. (NES) .nes file, or allow "
    f"`pip download {WHEEL_REQUIREMENT}` to reach the package index"
)

# RAM variables our integration declares (stable-retro's info dict); the task reads RAM directly.
DATA = {
    "info": {
        "x_page": {"address": 0x6D, "type": "|u1"},
        "x_pixel": {"address": 0x86, "type": "|u1"},
        "player_state": {"address": 0x0E, "type": "|u1"},
        "float_state": {"address": 0x1D, "type": "|u1"},
        "lives": {"address": 0x75A, "type": "|u1"},
        "world": {"address": 0x75F, "type": "|u1"},
        "stage": {"address": 0x75C, "type": "|u1"},
        "time": {"address": 0x7F8, "type": ">n3"},
        "score": {"address": 0x7DD, "type": ">n6"},
    }
}
# Episodes are ended and scored by the task from RAM; the scenario only keeps stable-retro's bookkeeping quiet.
SCENARIO = {"done": {"condition": "any", "variables": {}}, "reward": {"variables": {}}}

Downloader = Callable[[Path], Path]


def cache_dir() -> Path:
    """$EVOLVE_CACHE_DIR, else $XDG_CACHE_HOME/evolve, else ~/.cache/evolve."""
    if explicit := os.environ.get("EVOLVE_CACHE_DIR"):
        return Path(explicit)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "evolve"


def rom_sha1(data: bytes) -> str:
    """SHA-1 of a NES ROM's contents after its 16-byte iNES header (and 512-byte trainer, if flagged)."""
    if data[:4] == b"NES\x1a":
        data = data[16 + (512 if data[6] & 0x04 else 0) :]
    return hashlib.sha1(data).hexdigest()


def integration_dir(rom: str = "", *, cache: Path | None = None, download: Downloader | None = None) -> Path:
    """The directory to register with stable-retro (it holds `SuperMarioBros-Nes-v0/`), creating it if needed.

    Raises TaskSetupError with one line saying what went wrong and how to provide a ROM.
    """
    cache = cache or cache_dir()
    rom = rom or os.environ.get("EVOLVE_MARIO_ROM", "")
    if rom:
        data = _read_user_rom(Path(rom).expanduser())
        return _install(data, cache)
    cached = cache / "mario" / WHEEL_SHA1
    if _holds_valid_rom(cached / GAME):
        return cached
    return _install(_rom_from_wheel(cache, download or pip_download), cache)


def _read_user_rom(path: Path) -> bytes:
    if not path.is_file():
        raise TaskSetupError(f"Mario ROM {path} does not exist; {HOW_TO_PROVIDE}")
    _check_size(path.stat().st_size, str(path))
    with path.open("rb") as file:
        data = _read_capped(file, str(path))
    _check_known(rom_sha1(data), str(path))
    return data


def _check_size(size: int, source: str) -> None:
    if size > MAX_ROM_BYTES:
        raise TaskSetupError(f"{source} is {size} bytes, too big for a NES ROM (at most {MAX_ROM_BYTES}); "
                             f"{HOW_TO_PROVIDE}")


def _read_capped(file: BinaryIO, source: str) -> bytes:
    """At most MAX_ROM_BYTES of `file` (TaskSetupError if it holds more, e.g. it grew since its size was checked)."""
    data = file.read(MAX_ROM_BYTES + 1)
    _check_size(len(data), source)
    return data


def _check_known(sha1: str, source: str) -> None:
    if sha1 not in KNOWN_DUMPS:
        raise TaskSetupError(
            f"{source} is not a known Super Mario Bros. (NES) dump (header-stripped SHA-1 {sha1}, expected one of "
            f"{', '.join(KNOWN_DUMPS)}); {HOW_TO_PROVIDE}"
        )


def _holds_valid_rom(game_dir: Path) -> bool:
    """Whether a cached install is complete and holds the known dump its directory (cache/mario/<sha1>) names."""
    rom, sha = game_dir / "rom.nes", game_dir / "rom.sha"
    if not (rom.is_file() and sha.is_file()) or rom.stat().st_size > MAX_ROM_BYTES:
        return False
    sha1 = rom_sha1(rom.read_bytes())
    return sha1 in KNOWN_DUMPS and sha1 == game_dir.parent.name and sha.read_text().strip() == sha1


def _install(data: bytes, cache: Path) -> Path:
    """Write our integration for this ROM under cache/mario/<sha1>/ (atomically, file by file)."""
    sha1 = rom_sha1(data)
    root = cache / "mario" / sha1
    game_dir = root / GAME
    if _holds_valid_rom(game_dir):
        return root
    game_dir.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(game_dir / "data.json", json.dumps(DATA, indent=2))
    write_bytes_atomic(game_dir / "scenario.json", json.dumps(SCENARIO, indent=2))
    write_bytes_atomic(game_dir / "rom.nes", data)
    write_bytes_atomic(game_dir / "rom.sha", sha1 + "\n")  # last: its presence marks a complete install
    return root


def _rom_from_wheel(cache: Path, download: Downloader) -> bytes:
    with tempfile.TemporaryDirectory(dir=_ensure(cache)) as tmp:
        wheel = download(Path(tmp))
        try:
            with zipfile.ZipFile(wheel) as archive:
                data = _read_member(archive, f"{WHEEL_MEMBER} in {wheel.name}")
        except (zipfile.BadZipFile, KeyError) as exc:
            raise TaskSetupError(f"{wheel.name} holds no {WHEEL_MEMBER} ({exc}); {HOW_TO_PROVIDE}") from None
    sha1 = rom_sha1(data)
    if sha1 != WHEEL_SHA1:
        raise TaskSetupError(f"the ROM in {WHEEL_REQUIREMENT} has SHA-1 {sha1}, not {WHEEL_SHA1}; {HOW_TO_PROVIDE}")
    return data


def _read_member(archive: zipfile.ZipFile, source: str) -> bytes:
    """The wheel's ROM member, its size checked from the zip's directory before anything is decompressed."""
    info = archive.getinfo(WHEEL_MEMBER)
    _check_size(info.file_size, source)
    with archive.open(info) as member:
        return _read_capped(member, source)


def _ensure(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def pip_download(into: Path) -> Path:
    """Fetch the gym-super-mario-bros wheel (no dependencies, not installed) into `into`; returns its path."""
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--quiet",
               "--disable-pip-version-check", "-d", str(into), WHEEL_REQUIREMENT]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise TaskSetupError(f"could not run pip to fetch {WHEEL_REQUIREMENT} ({exc}); {HOW_TO_PROVIDE}") from None
    wheels = sorted(into.glob("*.whl"))
    if done.returncode != 0 or not wheels:
        reason = (done.stderr.strip().splitlines() or ["no wheel downloaded"])[-1]
        raise TaskSetupError(f"could not download {WHEEL_REQUIREMENT} ({reason}); {HOW_TO_PROVIDE}")
    return wheels[0]


def register(root: Path) -> None:
    """Put `root` first among stable-retro's custom integration paths (once per process)."""
    from stable_retro.data import Integrations

    Integrations._init()  # creates the class-level CUSTOM_PATHS list stable-retro searches
    paths = Integrations.CUSTOM_PATHS
    if paths and paths[0] == str(root):
        return
    if str(root) in paths:
        paths.remove(str(root))
    paths.insert(0, str(root))
