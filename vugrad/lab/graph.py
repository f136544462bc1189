"""
`vugrad graph`: draw the computation graph of one training step (forward, loss, backward) of
the model (the MLP, or the CNN of --model lenet|blitz) that `vugrad train` builds with the same
options, on a random batch shaped like the data set's.

    vugrad graph -o step.svg --hidden 8 --layers 2 --collapse
    vugrad graph -D mnist -b 4 -o step.dot          # only the shapes; nothing is downloaded
    vugrad graph --model lenet -b 2 -o lenet.svg    # LeNet on 1x28x28 images (-D mnist)
    vugrad graph --model blitz --collapse -o blitz.svg   # the blitz CNN, 3x32x32 (-D cifar10)
    vugrad graph --steps -o steps.html              # step through that step's backward

With --steps the command writes one HTML page that steps through the backward of the training
step (vugrad.trace_backward): each op in the order the engine runs it, the gradients arriving
and sent, every accumulation. With --collapse a step whose op is inside a box highlights the
box; with --max-nodes a step whose op was cut off highlights nothing in the drawing (its text
is still shown). Without Graphviz the page steps through the table.

From Python, training_step(config) gives the loss (its graph still there) and the model; the
drawing itself is vugrad.viz's (to_dot, draw), which knows nothing of the training kit.
"""

import argparse
import os
import sys

import numpy as np

from ..core import TensorNode
from ..trace import BackwardTrace
from ..viz import GraphvizError, draw
from .config import DATASETS, LOSSES, MODEL_INPUTS, TrainConfig, add_model_arguments
from .loop import build_model, loss_of

__all__ = [
    'DATASET_SHAPES',
    'IMAGE_SHAPES',
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
    add('-o', '--out', default=None, metavar='FILE',
        help='the file to write: .svg, .png or .pdf (these need Graphviz) or .dot; with '
             '--steps an .html page (default: graph.svg; with --steps: steps.html)')
    add('--steps', action='store_true',
        help='write a page that steps through the backward of the step, op by op '
             '(open it in a browser; keys: left and right arrows)')
    add('-D', '--dataset', dest='data', default=None, choices=DATASETS,
        help=f'the data set whose shapes the model gets (default: {d.data}; with --model lenet: '
             'mnist, blitz: cifar10, whose recipe then sets the batch size and the reduction); '
             'only the shapes are used, nothing is loaded or downloaded')
    add('-b', '--batch-size', dest='batch_size', default=d.batch_size, type=int,
        help='instances in the batch (default: %(default)s; cifar10: 4)')
    add_model_arguments(parser)
    add('--loss', default=d.loss, choices=LOSSES,
        help='the loss of the logits (default: %(default)s)')
    add('--reduction', default=d.reduction, choices=('sum', 'mean'),
        help='the loss over a batch (default: %(default)s; cifar10: mean)')
    add('--dtype', default=d.dtype, choices=('float32', 'float64'),
        help='float precision of data and parameters (default: %(default)s)')
    add('--seed', default=0, type=int, metavar='N',
        help='random seed of the weights and the batch (default: %(default)s)')
    add('--collapse', action='store_true',
        help='draw each layer (Linear, Conv2d, BatchNorm, residual block) as one box')
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


#: (features, classes) of each data set, so that `vugrad graph` needs no download (the MLP
#: gets the images flattened).
DATASET_SHAPES = {'synth': (2, 2), 'mnist': (784, 10), 'fashion-mnist': (784, 10),
                  'cifar10': (3072, 10)}
#: The shape of one image (C, H, W) of each image data set: a CNN's batch is (n, C, H, W).
IMAGE_SHAPES = {'mnist': (1, 28, 28), 'fashion-mnist': (1, 28, 28), 'cifar10': (3, 32, 32)}
#: The data set a CNN draws with when -D is not given.
MODEL_DATASETS = {model: datasets[0] for model, (_, datasets) in MODEL_INPUTS.items()}


def training_step(config, seed=0, trace=None):
    """
    One training step of the model `vugrad train` builds for `config` (a TrainConfig): the
    model (the MLP, or the CNN of config.model), the loss of config.loss on a random batch
    shaped like the data set's ((n, features) for the MLP, (n, C, H, W) for a CNN), and a
    backward. Settings not given come from the data set's recipe (-D cifar10: batch 4, mean
    loss). Returns (loss, model); the loss's graph is still there to draw. A BackwardTrace
    given as `trace` records the backward.
    """
    config = config.validate()      # -- resolved: cifar10's recipe applied
    if config.data not in DATASET_SHAPES:
        raise ValueError(f'vugrad graph: no shapes known for the data set {config.data!r}.')
    features, classes = DATASET_SHAPES[config.data]
    shape = (features,) if config.model == 'mlp' else IMAGE_SHAPES[config.data]
    rng = np.random.default_rng(seed)
    np.random.seed(seed)      # -- the weights are drawn from NumPy's global generator
    model = build_model(config, shape, classes)
    model.train()
    batch = TensorNode(rng.standard_normal((config.batch_size, *shape)).astype(config.dtype),
                       name='batch', requires_grad=False)
    targets = rng.integers(0, classes, size=config.batch_size)
    loss = loss_of(config)(model(batch), targets, config.reduction)
    loss.name = 'loss'
    loss.backward(trace=trace)
    return loss, model


def _collapse(model):
    """
    {label: module} of the layers to draw as one box each: the MLP's Linear layers ('Linear 1',
    ...), or a CNN's layers with parameters and its residual blocks ('Conv2d 1', 'BatchNorm2d
    1', 'Residual 1', 'Linear 1', ...).
    """
    if hasattr(model, 'hidden') and hasattr(model, 'output'):
        layers = list(model.hidden) + [model.output]
        return {f'Linear {i + 1}': layer for i, layer in enumerate(layers)}
    counts, out = {}, {}
    for layer in getattr(model, 'layers', []):
        kind = type(layer).__name__
        if kind != 'Residual' and not list(layer.parameters()):
            continue       # -- an activation, a pooling, Flatten: one op, drawn as it is
        counts[kind] = counts.get(kind, 0) + 1
        out[f'{kind} {counts[kind]}'] = layer
    return out


def graph_command(args):
    """
    Run `vugrad graph`: draw the graph of one training step (forward, loss, backward) of the
    model (MLP or CNN) that `vugrad train` builds with the same options. Returns the exit
    status.
    """
    model_name = getattr(args, 'model', 'mlp')
    data = args.data or MODEL_DATASETS.get(model_name, TrainConfig().data)
    config = TrainConfig(data=data, model=model_name, batch_size=args.batch_size,
                         hidden=args.hidden, layers=args.layers, activation=args.activation,
                         residual=args.residual, batchnorm=getattr(args, 'batchnorm', False),
                         init=args.init, dropout=args.dropout,
                         loss=getattr(args, 'loss', 'cross-entropy'), reduction=args.reduction,
                         dtype=args.dtype)
    out = args.out or ('steps.html' if args.steps else 'graph.svg')
    if args.steps and not out.lower().endswith(('.html', '.htm')):
        print(f'vugrad graph: error: --steps writes a web page: give -o FILE.html, not {out}',
              file=sys.stderr)
        return 2
    trace = BackwardTrace() if args.steps else None
    try:
        loss, model = training_step(config, seed=args.seed, trace=trace)
    except ValueError as e:
        print(f'vugrad: error: {e}', file=sys.stderr)
        return 2
    options = {'collapse': _collapse(model) if args.collapse else None,
               'max_nodes': args.max_nodes or None, 'module': model}
    problem = _make_folder(out)
    if problem:
        print(f'vugrad: error: cannot write {out}: {problem}', file=sys.stderr)
        return 1
    try:
        if trace is not None:
            trace.label_parameters(model).to_html(out, title='one training step, backward',
                                                  **options)
        else:
            draw(loss, out, **options)
    except (GraphvizError, ValueError) as e:
        print(f'vugrad: error: {e}', file=sys.stderr)
        return 1
    print(f'wrote {out}' + (f' (open it in a browser: {len(trace.steps)} steps)' if trace else ''))
    return 0
