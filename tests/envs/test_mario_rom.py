"""ROM acquisition: the real gym-super-mario-bros wheel fetched with pip, the cache, a user's file, bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from envs.mario_rom import GAME, WHEEL_SHA1, integration_dir, pip_download, rom_sha1
from envs.task import TaskSetupError


def no_download(into: Path) -> Path:
    raise AssertionError("the ROM should have come from the cache")


@pytest.fixture(scope="module")
def downloaded(tmp_path_factory) -> Path:
    """An integration built from the wheel pip downloads (the path a fresh machine takes)."""
    return integration_dir(cache=tmp_path_factory.mktemp("cache"), download=pip_download)


def test_wheel_download_installs_a_checked_integration(downloaded):
    game = downloaded / GAME
    assert rom_sha1((game / "rom.nes").read_bytes()) == WHEEL_SHA1
    assert (game / "rom.sha").read_text().strip() == WHEEL_SHA1
    assert {"data.json", "scenario.json"} <= {p.name for p in game.iterdir()}
    assert not list(downloaded.parent.parent.glob("tmp*")), "the downloaded wheel is not kept"


def test_second_call_is_a_cache_hit(downloaded):
    assert integration_dir(cache=downloaded.parent.parent, download=no_download) == downloaded


def test_user_rom_path_is_used_without_download(downloaded, tmp_path):
    rom = tmp_path / "my smb.nes"
    rom.write_bytes((downloaded / GAME / "rom.nes").read_bytes())
    root = integration_dir(str(rom), cache=tmp_path / "cache", download=no_download)
    assert rom_sha1((root / GAME / "rom.nes").read_bytes()) == WHEEL_SHA1


def test_a_user_rom_with_the_wrong_hash_is_refused(downloaded, tmp_path):
    data = bytearray((downloaded / GAME / "rom.nes").read_bytes())
    data[100] ^= 0xFF
    rom = tmp_path / "patched.nes"
    rom.write_bytes(bytes(data))
    with pytest.raises(TaskSetupError, match="not a known Super Mario Bros. .NES. dump.*env.rom"):
        integration_dir(str(rom), cache=tmp_path / "cache", download=no_download)


def test_a_missing_user_rom_says_how_to_provide_one(tmp_path):
    with pytest.raises(TaskSetupError, match="does not exist; set env.rom"):
        integration_dir(str(tmp_path / "nope.nes"), cache=tmp_path / "cache", download=no_download)


def test_a_corrupt_cache_is_rebuilt_and_a_bad_download_is_reported(downloaded, tmp_path):
    cache = tmp_path / "cache"
    game = integration_dir(str(downloaded / GAME / "rom.nes"), cache=cache, download=no_download) / GAME
    (game / "rom.nes").write_bytes(b"NES\x1a" + bytes(100))  # truncated by a crash or a disk error

    def not_a_wheel(into: Path) -> Path:
        (into / "x.whl").write_bytes(b"not a zip")
        return into / "x.whl"

    with pytest.raises(TaskSetupError, match="holds no gym_super_mario_bros"):
        integration_dir(cache=cache, download=not_a_wheel)


def test_header_is_ignored_by_the_hash(downloaded):
    data = (downloaded / GAME / "rom.nes").read_bytes()
    assert rom_sha1(data) == rom_sha1(data[16:])
    assert rom_sha1(data[:16] + bytes([data[16] ^ 1]) + data[17:]) != WHEEL_SHA1
