"""
Tiny CIFAR-10 data in the official binary format, for the loader's tests (tests/data) and the
kit's end-to-end tests (tests/lab): `from cifar_files import NAMES, batch_bytes, tar_gz`.
"""

import io
import tarfile

import numpy as np

FOLDER, ARCHIVE = "cifar-10-batches-bin", "cifar-10-binary.tar.gz"
NAMES = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]


def batch_bytes(images, labels):
    """The bytes of a batch file: per record, the label byte, then red, green, blue (32 x 32)."""
    images = np.asarray(images, np.uint8).reshape(len(labels), 3 * 32 * 32)
    return np.concatenate([np.asarray(labels, np.uint8)[:, None], images], axis=1).tobytes()


def tar_gz(members):
    """A .tar.gz of (name, bytes) members, or (name, bytes, TarInfo-tweaking function...)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for name, data, *tweak in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            for t in tweak:
                t(info)
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return out.getvalue()
