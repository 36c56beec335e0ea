"""Suite-wide fixture: the tests never write into the user's home.

CLI tests that train or evaluate a speech model build waveform caches in the default folder
(~/.cache/speech_cnn); pointing XDG_CACHE_HOME at one temporary folder for the session keeps them there.
"""
import pytest


@pytest.fixture(autouse=True, scope="session")
def _cache_home_in_tmp(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))
        yield
