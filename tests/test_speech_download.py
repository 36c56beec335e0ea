"""`speech-cnn download` against a local HTTP server on 127.0.0.1 (Range-capable)."""
import hashlib
import http.server
import io
import tarfile
import threading

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from speech_cnn.cli import main
from speech_cnn.dataset import scan
from speech_cnn.download import SOURCES, DownloadError, download


def make_archive(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def wav_bytes(value=0.1):
    b = io.BytesIO()
    sf.write(b, np.full(800, value, np.float32), 8000, format="WAV", subtype="PCM_16")
    return b.getvalue()


class Server:
    """Serves {name: bytes}; honours `Range: bytes=N-` unless ranges=False; logs requests."""

    def __init__(self, files):
        self.files, self.ranges, self.log = files, True, []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                name = self.path.rsplit("/", 1)[-1]
                outer.log.append((name, self.headers.get("Range")))
                if self.path != f"/data/{name}" or name not in outer.files:
                    self.send_error(404)
                    return
                data, start = outer.files[name], 0
                rng = self.headers.get("Range")
                if rng and outer.ranges:
                    start = int(rng.split("=")[1].split("-")[0])
                    if start >= len(data):
                        self.send_error(416)
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(data) - start))
                self.end_headers()
                self.wfile.write(data[start:])

            def log_message(self, *a):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/data"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


FSDD_REMOTE = SOURCES["fsdd"].url.rsplit("/", 1)[1]
SC_REMOTE = SOURCES["speech-commands"].url.rsplit("/", 1)[1]


@pytest.fixture
def server():
    fsdd = make_archive({f"free-spoken-digit-dataset-1.0.10/recordings/{d}_ann_{k}.wav": wav_bytes()
                         for d in range(3) for k in range(2)})
    sc = make_archive({"yes/aa_nohash_0.wav": wav_bytes(), "no/bb_nohash_0.wav": wav_bytes(),
                       "validation_list.txt": b"no/bb_nohash_0.wav\n", "testing_list.txt": b""})
    s = Server({FSDD_REMOTE: fsdd, SC_REMOTE: sc})
    yield s
    s.close()


def test_download_fsdd_extracts_a_scannable_dataset(server, tmp_path):
    r = CliRunner().invoke(main, ["download", "fsdd", str(tmp_path), "--base-url", server.url])
    assert r.exit_code == 0, r.output
    sha = hashlib.sha256(server.files[FSDD_REMOTE]).hexdigest()
    assert f"sha256 {sha} (no published digest)" in r.output
    ix = scan(tmp_path / "fsdd" / "free-spoken-digit-dataset-1.0.10")
    assert ix.layout == "fsdd" and len(ix.clips) == 6 and ix.speakers == ["ann"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["free-spoken-digit-dataset-1.0.10.tar.gz", "fsdd"]
    # second run is a no-op
    r2 = CliRunner().invoke(main, ["download", "fsdd", str(tmp_path), "--base-url", server.url])
    assert "exists" in r2.output and len(server.log) == 1


def test_checksum_mismatch_is_an_error_and_leaves_nothing(server, tmp_path):
    # the tiny archive cannot match the published Speech Commands digest
    r = CliRunner().invoke(main, ["download", "speech-commands", str(tmp_path), "--base-url", server.url])
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert f"{server.url}/{SC_REMOTE}: checksum mismatch: expected sha256 " \
           f"{SOURCES['speech-commands'].sha256}, got " in r.output
    assert list(tmp_path.iterdir()) == []


def test_resume_from_partial_file(server, tmp_path):
    data = server.files[SC_REMOTE]
    half = len(data) // 2
    (tmp_path / "speech_commands_v0.02.tar.gz.part").write_bytes(data[:half])
    root = download("speech-commands", tmp_path, base_url=server.url,
                    sha256=hashlib.sha256(data).hexdigest(), log=lambda m: None)
    assert server.log == [(SC_REMOTE, f"bytes={half}-")]
    assert (tmp_path / "speech_commands_v0.02.tar.gz").read_bytes() == data
    ix = scan(root)
    assert ix.layout == "speech-commands" and {c.split for c in ix.clips} == {"train", "val"}


def test_server_without_ranges_restarts_cleanly(server, tmp_path):
    server.ranges = False
    data = server.files[SC_REMOTE]
    (tmp_path / "speech_commands_v0.02.tar.gz.part").write_bytes(b"garbage-prefix")
    download("speech-commands", tmp_path, base_url=server.url,
             sha256=hashlib.sha256(data).hexdigest(), log=lambda m: None)
    assert (tmp_path / "speech_commands_v0.02.tar.gz").read_bytes() == data


def test_http_error_and_bad_archive(server, tmp_path):
    with pytest.raises(DownloadError, match="HTTP 404"):
        download("fsdd", tmp_path, base_url=server.url + "/missing", log=lambda m: None)
    server.files[FSDD_REMOTE] = b"not a tarball"
    with pytest.raises(DownloadError, match="cannot extract"):
        download("fsdd", tmp_path, base_url=server.url, log=lambda m: None)
    assert not (tmp_path / "fsdd").exists()
