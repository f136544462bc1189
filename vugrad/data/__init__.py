"""
Data sets and batches for vugrad.

    load_synth          a small synthetic two-class problem, made on the spot
    load_mnist          handwritten digits, 28 x 28 pixels, 10 classes
    load_fashion_mnist  images of clothing, same format as MNIST
    load_cifar10        color images, 3 x 32 x 32 pixels, 10 classes (the binary version)
    batches, DataLoader cut (x, y) into (shuffled) batches

Every loader returns ``(xtrain, ytrain), (xval, yval), num_classes``.

MNIST, Fashion-MNIST and CIFAR-10 are read from the folder given as data_dir, else from
$VUGRAD_DATA, else from the cache folder (`cache_dir()`), where missing files are downloaded
from the mirrors in MNIST_MIRRORS / FASHION_MNIST_MIRRORS / CIFAR10_MIRRORS.
"""

from .batching import DataLoader, batches
from .cifar10 import (
    CIFAR10,
    CIFAR10_MIRRORS,
    Cifar10Spec,
    clear_cache,
    load_cifar10,
    load_cifar10_dataset,
)
from .download import cache_dir
from .errors import CorruptDatasetError, DatasetError, DatasetNotFoundError, DownloadError
from .mnist import (
    FASHION_MNIST,
    FASHION_MNIST_MIRRORS,
    MNIST,
    MNIST_MIRRORS,
    DatasetSpec,
    FileSpec,
    load_fashion_mnist,
    load_idx_dataset,
    load_mnist,
)
from .synth import load_synth

__all__ = [
    'CIFAR10',
    'CIFAR10_MIRRORS',
    'FASHION_MNIST',
    'FASHION_MNIST_MIRRORS',
    'MNIST',
    'MNIST_MIRRORS',
    'Cifar10Spec',
    'CorruptDatasetError',
    'DataLoader',
    'DatasetError',
    'DatasetNotFoundError',
    'DatasetSpec',
    'DownloadError',
    'FileSpec',
    'batches',
    'cache_dir',
    'clear_cache',
    'load_cifar10',
    'load_cifar10_dataset',
    'load_fashion_mnist',
    'load_idx_dataset',
    'load_mnist',
    'load_synth',
]
