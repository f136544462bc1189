"""
`vugrad graph`: draw the computation graph of one training step (forward, loss, backward) of
the MLP that `vugrad train` builds with the same options.

    vugrad graph -o step.svg --hidden 8 --layers 2 --collapse
    vugrad graph -D mnist -b 4 -o step.dot          # only the shapes; nothing is downloaded

From Python, training_step(config) gives the loss (its graph still there) and the model; the
drawing itself is vugrad.viz's (to_dot, draw), which knows nothing of the training kit.
"""

import argparse
import os
import sys

import numpy as np

from .. import functions as F
from ..core import TensorNode
from ..viz import GraphvizError, draw
from .config import DATASETS, TrainConfig, add_model_arguments
from .loop import build_model

__all__ = [
    'DATASET_SHAPES',
    'add_graph_arguments',
    'graph_command',
    'training_step',
]


def add_graph_arguments(parser):
    """
    Add the options of `vugrad graph` to an argparse parser: those of `vugrad train` that shape
    the model (with the same names and defaults), and the drawing's.
    """
    d = TrainConfig()
    add = parser.add_argument
    add('-o', '--out', default='graph.svg', metavar='FILE',
        help='the file to write: .svg, .png or .pdf (these need Graphviz) or .dot '
             '(default: %(default)s)')
    add('-D', '--dataset', dest='data', default=d.data, choices=DATASETS,
        help='the data set whose shapes the model gets (default: %(default)s); only the shapes '
             'are used, nothing is loaded or downloaded')
    add('-b', '--batch-size', dest='batch_size', default=d.batch_size, type=int,
        help='instances in the batch (default: %(default)s)')
    add_model_arguments(parser)
    add('--reduction', default=d.reduction, choices=('sum', 'mean'),
        help='the loss over a batch (default: %(default)s)')
    add('--dtype', default=d.dtype, choices=('float32', 'float64'),
        help='float precision of data and parameters (default: %(default)s)')
    add('--seed', default=0, type=int, metavar='N',
        help='random seed of the weights and the batch (default: %(default)s)')
    add('--collapse', action='store_true',
        help='draw each Linear layer as one box')
    add('--max-nodes', dest='max_nodes', default=200, type=_max_nodes, metavar='N',
        help='the most nodes to draw, nearest to the loss first; 0 draws them all '
             '(default: %(default)s)')
    return parser


def _max_nodes(text):
    """--max-nodes: a whole number >= 0 (0: no limit)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f'{text!r}: give a whole number of nodes, at least 1, '
                                         'or 0 to draw them all')
    return value


def _make_folder(path):
    """
    Make the missing folders of the file `path`; None, or why they cannot be made (a file
    where a folder should be, no permission).
    """
    folder = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(folder, exist_ok=True)
        return None
    except (FileExistsError, NotADirectoryError):
        blocker = folder
        while not os.path.exists(blocker) and os.path.dirname(blocker) != blocker:
            blocker = os.path.dirname(blocker)
        while os.path.isfile(os.path.dirname(blocker)):
            blocker = os.path.dirname(blocker)
        return f'{blocker} is a file, not a folder'
    except OSError as e:
        return f'cannot make the folder {folder}: {e.strerror or e}'


#: (features, classes) of each data set, so that `vugrad graph` needs no download.
DATASET_SHAPES = {'synth': (2, 2), 'mnist': (784, 10), 'fashion-mnist': (784, 10)}


def training_step(config, seed=0):
    """
    One training step of the model `vugrad train` builds for `config` (a TrainConfig): the
    model, the cross-entropy loss of a random batch shaped like the data set's, and a
    backward. Returns (loss, model); the loss's graph is still there to draw.
    """
    config.validate()
    if config.data not in DATASET_SHAPES:
        raise ValueError(f'vugrad graph: no shapes known for the data set {config.data!r}.')
    features, classes = DATASET_SHAPES[config.data]
    rng = np.random.default_rng(seed)
    np.random.seed(seed)      # -- the weights are drawn from NumPy's global generator
    model = build_model(config, features, classes)
    batch = TensorNode(rng.standard_normal((config.batch_size, features)).astype(config.dtype),
                       name='batch', requires_grad=False)
    targets = rng.integers(0, classes, size=config.batch_size)
    loss = F.cross_entropy(model(batch), targets, reduction=config.reduction)
    loss.name = 'loss'
    loss.backward()
    return loss, model


def graph_command(args):
    """
    Run `vugrad graph`: draw the graph of one training step (forward, loss, backward) of the MLP
    that `vugrad train` builds with the same options. Returns the exit status.
    """
    config = TrainConfig(data=args.data, batch_size=args.batch_size, hidden=args.hidden,
                         layers=args.layers, activation=args.activation, residual=args.residual,
                         init=args.init, dropout=args.dropout, reduction=args.reduction,
                         dtype=args.dtype)
    try:
        loss, model = training_step(config, seed=args.seed)
    except ValueError as e:
        print(f'vugrad: error: {e}', file=sys.stderr)
        return 2
    collapse = None
    if args.collapse:
        layers = list(model.hidden) + [model.output]
        collapse = {f'Linear {i + 1}': layer for i, layer in enumerate(layers)}
    problem = _make_folder(args.out)
    if problem:
        print(f'vugrad: error: cannot write {args.out}: {problem}', file=sys.stderr)
        return 1
    try:
        draw(loss, args.out, collapse=collapse, max_nodes=args.max_nodes or None, module=model)
    except (GraphvizError, ValueError) as e:
        print(f'vugrad: error: {e}', file=sys.stderr)
        return 1
    print(f'wrote {args.out}')
    return 0
