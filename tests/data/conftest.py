"""The data tests' fixtures: a private cache root, two chorales parsed straight from music21's
corpus (never the whole corpus)."""
import pytest

from hiaudio.data.chorales import Chorale, parse_chorale


@pytest.fixture(autouse=True)
def _cache_root(tmp_path_factory, monkeypatch):
    """Every file the data code writes goes under the test session's temporary folder."""
    monkeypatch.setenv("HIAUDIO_CACHE", str(tmp_path_factory.getbasetemp() / "hiaudio-cache"))


@pytest.fixture(scope="session")
def bwv269() -> Chorale:
    return parse_chorale("bwv269")  # 3/4 with a one-beat pickup, six fermatas


@pytest.fixture(scope="session")
def bwv10_7() -> Chorale:
    return parse_chorale("bwv10.7")  # 4/4
