"""ROM acquisition: the real gym-super-mario-bros wheel fetched with pip, the cache, a user's file, bad files."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from envs.mario_rom import (GAME, MAX_ROM_BYTES, WHEEL_MEMBER, WHEEL_SHA1, integration_dir, pip_download,
                            rom_sha1)
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


def wheel_holding(member: bytes) -> Callable[[Path], Path]:
    """A stand-in for pip_download that writes a wheel whose ROM member is `member`."""

    def download(into: Path) -> Path:
        wheel = into / "gym_super_mario_bros-7.4.0-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(WHEEL_MEMBER, member)
        return wheel

    return download


def test_an_oversized_wheel_member_is_refused_before_it_is_read(tmp_path):
    download = wheel_holding(bytes(MAX_ROM_BYTES + 1))  # deflates to about a kilobyte
    with pytest.raises(TaskSetupError, match=f"is {MAX_ROM_BYTES + 1} bytes, too big for a NES ROM") as info:
        integration_dir(cache=tmp_path / "cache", download=download)
    assert WHEEL_MEMBER in str(info.value) and "\n" not in str(info.value)


def test_an_oversized_user_rom_is_refused(tmp_path):
    rom = tmp_path / "huge.nes"
    with rom.open("wb") as file:
        file.truncate(MAX_ROM_BYTES + 1)  # sparse: nothing written
    with pytest.raises(TaskSetupError, match=f"huge.nes is {MAX_ROM_BYTES + 1} bytes, too big") as info:
        integration_dir(str(rom), cache=tmp_path / "cache", download=no_download)
    assert "\n" not in str(info.value)


def test_a_cache_that_agrees_with_itself_but_is_no_known_dump_is_reinstalled(downloaded, tmp_path):
    real = (downloaded / GAME / "rom.nes").read_bytes()
    fake = real[:-1] + bytes([real[-1] ^ 0xFF])
    game = tmp_path / "cache" / "mario" / WHEEL_SHA1 / GAME
    game.mkdir(parents=True)
    (game / "rom.nes").write_bytes(fake)
    (game / "rom.sha").write_text(rom_sha1(fake) + "\n")  # the tampered ROM's own hash, so the pair agrees
    root = integration_dir(cache=tmp_path / "cache", download=wheel_holding(real))
    assert root == game.parent
    assert rom_sha1((game / "rom.nes").read_bytes()) == WHEEL_SHA1
    assert (game / "rom.sha").read_text().strip() == WHEEL_SHA1
