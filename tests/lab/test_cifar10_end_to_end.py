"""
CIFAR-10 end to end: the blitz net trained by the kit's real entry points (vugrad.lab.run and
`vugrad train` in process) on tiny files in CIFAR-10's official binary format that the tests
write, read by the real loader (load_cifar10, its spec shrunk to 8 records a file), on both
backends, with and without --batchnorm and --residual; and the bounded memory of evaluating
10,000 CIFAR-sized images (evaluate works in chunks).
"""

import dataclasses
import hashlib
import json
import tracemalloc
from types import SimpleNamespace

import numpy as np
import pytest
from cifar_files import ARCHIVE, FOLDER, NAMES, batch_bytes, tar_gz

import vugrad.data.cifar10 as cifar_module
from vugrad.lab import cli, loop, run
from vugrad.lab.config import TrainConfig
from vugrad.lab.train import evaluate

RECORDS, NUM_VAL = 8, 4              # -- 5 training files and a test file of 8 records each
TRAIN_N = 5 * RECORDS - NUM_VAL


@pytest.fixture
def tiny_cifar(tmp_path, monkeypatch):
    """
    A tiny CIFAR-10 in the official binary format: <folder_root>/cifar10/cifar-10-batches-bin/
    and <archive_root>/cifar10/cifar-10-binary.tar.gz. vugrad.data.cifar10.CIFAR10 is the spec
    of the form `use(form)` picks (8 records a file, 4 for validation; the archive's size and
    md5), so the real load_cifar10 reads it; nothing else of the loader is replaced.
    """
    rng = np.random.default_rng(7)
    images = rng.integers(0, 256, (6, RECORDS, 3, 32, 32), dtype=np.uint8)
    labels = rng.integers(0, 10, (6, RECORDS), dtype=np.uint8)
    labels[0, :] = np.arange(RECORDS)        # -- many classes in training
    labels[4, -NUM_VAL:] = [0, 1, 2, 3]      # -- the validation set: 4 classes, the rest absent
    raw = {n: batch_bytes(images[i], labels[i]) for i, n in enumerate(NAMES)}
    archive = tar_gz([(f"{FOLDER}/{n}", raw[n]) for n in NAMES])
    folder_root, archive_root = tmp_path / "extracted", tmp_path / "archived"
    (folder_root / "cifar10" / FOLDER).mkdir(parents=True)
    for n in NAMES:
        (folder_root / "cifar10" / FOLDER / n).write_bytes(raw[n])
    (archive_root / "cifar10").mkdir(parents=True)
    (archive_root / "cifar10" / ARCHIVE).write_bytes(archive)

    specs = {
        "folder": dataclasses.replace(cifar_module.CIFAR10, records=RECORDS, num_val=NUM_VAL,
                                      mirrors=[]),
        "archive": dataclasses.replace(cifar_module.CIFAR10, records=RECORDS, num_val=NUM_VAL,
                                       mirrors=[], archive_size=len(archive),
                                       archive_md5=hashlib.md5(archive).hexdigest()),
    }
    roots = {"folder": folder_root, "archive": archive_root}
    monkeypatch.delenv("VUGRAD_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))   # -- never the real one
    monkeypatch.setattr(cifar_module, "CIFAR10_MIRRORS", [])             # -- nothing to download
    cifar_module.clear_cache()

    def use(form="folder"):
        monkeypatch.setattr(cifar_module, "CIFAR10", specs[form])
        return str(roots[form])

    yield SimpleNamespace(use=use, images=images, labels=labels)
    cifar_module.clear_cache()


def config_for(tiny, form="folder", **changes):
    """The cifar10 recipe (blitz, batch 4, SGD lr 0.001 momentum 0.9, mean loss), one epoch."""
    return TrainConfig(data="cifar10", data_dir=tiny.use(form), epochs=1, seed=0,
                       progress=False, **changes)


def recording(monkeypatch, module):
    """Record the training loss of every step that `module`'s run_batches sees."""
    losses = []
    real = loop.run_batches

    def run_batches(loader, step, *args, **kwargs):
        def recorded(xb, yb):
            loss = step(xb, yb)
            losses.append(float(loss))
            return loss
        return real(loader, recorded, *args, **kwargs)

    monkeypatch.setattr(module, "run_batches", run_batches)
    return losses


def check_metrics(metrics, written=False):
    """One epoch's row, with per-class accuracies (NaN, in a written file null, where none)."""
    assert len(metrics) == 1
    row = metrics[0]
    assert row["epoch"] == 1 and np.isfinite(row["train_loss"]) and np.isfinite(row["val_loss"])
    assert 0 <= row["val_acc"] <= 1
    per_class = row["val_acc_per_class"]
    assert len(per_class) == 10
    # -- the validation set holds classes 0..3 only: the others have no accuracy
    assert all(0 <= a <= 1 for a in per_class[:4])
    assert all((a is None) if written else np.isnan(a) for a in per_class[4:])
    assert row["val_acc"] == pytest.approx(np.mean(per_class[:4]))   # -- one image a class


def test_the_tiny_files_are_read_by_the_real_loader(tiny_cifar):
    tiny_cifar.use("folder")
    (x, y), (xv, yv), c = loop.load_data(config_for(tiny_cifar))
    assert c == 10 and x.shape == (TRAIN_N, 3, 32, 32) and xv.shape == (NUM_VAL, 3, 32, 32)
    assert x.dtype == np.float32 and x.min() == -1.0 and x.max() == 1.0
    want = tiny_cifar.images[:5].reshape(-1, 3, 32, 32)
    np.testing.assert_allclose(x, want[:TRAIN_N] / 127.5 - 1, atol=1e-6)
    np.testing.assert_array_equal(y, tiny_cifar.labels[:5].reshape(-1)[:TRAIN_N])
    np.testing.assert_array_equal(yv, [0, 1, 2, 3])


@pytest.mark.parametrize("batchnorm, residual", [(False, False), (True, False), (False, True),
                                                 (True, True)])
def test_both_backends_train_the_blitz_net_end_to_end(tiny_cifar, monkeypatch, tmp_path,
                                                      batchnorm, residual):
    pytest.importorskip("torch")
    import vugrad.lab.torch_backend as tb
    import vugrad.lab.train as vtrain
    losses, metrics = {}, {}
    for backend, module in (("vugrad", vtrain), ("torch", tb)):
        out = tmp_path / f"{backend}.json"
        with monkeypatch.context() as m:
            losses[backend] = recording(m, module)
            config = config_for(tiny_cifar, batchnorm=batchnorm, residual=residual,
                                backend=backend, out=str(out))
            metrics[backend] = run(config, log=None)
        check_metrics(metrics[backend])
        written = json.loads(out.read_text())
        assert written["config"]["model"] == "blitz" and written["config"]["batch_size"] == 4
        assert written["config"]["batchnorm"] == batchnorm
        assert written["config"]["residual"] == residual
        check_metrics(written["metrics"], written=True)
    ours, theirs = losses["vugrad"], losses["torch"]
    assert len(ours) == len(theirs) == TRAIN_N // 4
    # -- the same seed, so the same initial weights (torch copies vugrad's) and the same batches:
    #    in float32 the steps' losses agree to float32 rounding, compounded over 9 steps
    #    (measured: at most 1.2e-6 apart, relatively)
    np.testing.assert_allclose(theirs, ours, rtol=2e-5)
    assert metrics["torch"][0]["train_loss"] == pytest.approx(metrics["vugrad"][0]["train_loss"],
                                                             rel=1e-5)
    assert metrics["torch"][0]["val_loss"] == pytest.approx(metrics["vugrad"][0]["val_loss"],
                                                           rel=1e-4)


@pytest.mark.parametrize("backend", ["vugrad", "torch"])
def test_the_vugrad_train_command_on_the_archive(tiny_cifar, monkeypatch, tmp_path, capsys,
                                                 backend):
    if backend == "torch":
        pytest.importorskip("torch")
    monkeypatch.setenv("VUGRAD_MALLOC_TUNING", "0")   # -- leave the test process's malloc alone
    data_dir = tiny_cifar.use("archive")
    out = tmp_path / "metrics.json"
    status = cli.main(["train", "-D", "cifar10", "--data-dir", data_dir, "-e", "1",
                       "--seed", "1", "--batchnorm", "--residual", "--backend", backend,
                       "--no-progress", "--out", str(out)])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    written = json.loads(out.read_text())
    check_metrics(written["metrics"], written=True)
    assert written["config"]["backend"] == backend
    assert "validation accuracy per class: airplane" in captured.out
    assert f"{TRAIN_N} in training, {NUM_VAL} in validation" in captured.out


def test_the_command_and_run_agree_on_the_folder_and_the_archive(tiny_cifar, monkeypatch,
                                                                tmp_path):
    monkeypatch.setenv("VUGRAD_MALLOC_TUNING", "0")
    out = tmp_path / "cli.json"
    assert cli.main(["train", "-D", "cifar10", "--data-dir", tiny_cifar.use("folder"), "-e", "1",
                     "--seed", "0", "--no-progress", "--out", str(out)]) == 0
    from_cli = json.loads(out.read_text())["metrics"][0]
    from_archive = run(config_for(tiny_cifar, "archive"), log=None)[0]
    for key in ("train_loss", "val_loss", "val_acc"):
        assert from_archive[key] == from_cli[key]     # -- the same bytes, the same run


# ---------------------------------------------------------------- evaluation's memory

def test_evaluating_10000_images_is_chunked():
    """
    evaluate runs 200 images at a time (its default for images), so its peak memory is about
    that of one chunk's forward pass, whose largest array is the im2col matrix of the first
    convolution: 200 x 28*28 x 3*5*5 floats (47 MB in float32). Unchunked, that matrix alone
    would be 10,000 images' worth: 2.35 GB.
    """
    np.random.seed(0)
    model = loop.build_model(TrainConfig(data="cifar10").resolved(), (3, 32, 32), 10)
    model.eval()
    n, chunk = 10_000, 200
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, size=(n, 3, 32, 32)).astype(np.float32)   # -- before tracing starts
    y = rng.integers(0, 10, n)
    im2col_per_image = 28 * 28 * 3 * 5 * 5 * 4
    chunk_bytes, unchunked_bytes = chunk * im2col_per_image, n * im2col_per_image
    tracemalloc.start()
    try:
        loss, acc, per_class = evaluate(model, x, y, num_classes=10)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    print(f"peak {peak / 2**20:.1f} MiB; one chunk's im2col {chunk_bytes / 2**20:.1f} MiB, "
          f"unchunked {unchunked_bytes / 2**20:.0f} MiB")
    assert np.isfinite(loss) and 0 <= acc <= 1 and len(per_class) == 10
    assert not model.training
    assert peak < 4 * chunk_bytes               # -- a few of one chunk's arrays at a time
    assert peak < unchunked_bytes / 10          # -- far below one unchunked im2col
