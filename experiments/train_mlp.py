"""
The course's script: train a two-layer MLP on the synthetic data (the default) or on MNIST.

    python experiments/train_mlp.py
    python experiments/train_mlp.py -D mnist -l 0.0001

Everything is in this file, in plain sight: the model (MLP, below), the data, and the training
loop (forward, loss, backward, a gradient descent step, zero_grad, clear). Adapt it by editing
it: write an Op of your own here (a subclass of vg.Op with a static forward and backward) and
use it in MLP.forward in place of vg.sigmoid, or add layers to MLP.

The experiments with activations, depth, residual connections, initialization, momentum and
optimizers are each one flag of `vugrad train` (see `vugrad train --help`), with --seed, --out
and more; this script keeps only the course's flags.
"""

import os
import sys
from argparse import ArgumentParser

import numpy as np

# -- Lets the script run from a fresh clone without `pip install -e .`
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

import vugrad as vg  # noqa: E402

# -- The defaults of the flags below.
DATASET = 'synth'       # -D: synth or mnist
BATCH_SIZE = 128        # -b
EPOCHS = 20             # -e
LEARNING_RATE = 0.01    # -l: 0.1 works well for synth, 0.0001 for MNIST (its pixels are 0..255)
SEED = None             # --seed: None draws the data and the weights afresh each run


class MLP(vg.Module):
    """
    A simple MLP with one hidden layer, a sigmoid non-linearity on the hidden layer and a
    softmax on the output: it returns a probability for each class.
    """

    def __init__(self, input_size, output_size, hidden_mult=4):
        """
        :param input_size: the number of features of an instance.
        :param output_size: the number of classes.
        :param hidden_mult: how many times bigger the hidden layer is than the input layer.
        """
        super().__init__()

        hidden_size = hidden_mult * input_size
        # -- There is no common wisdom on how big the hidden layer should be, apart from the idea
        #    that it should be strictly _bigger_ than the input if at all possible.

        self.layer1 = vg.Linear(input_size, hidden_size)
        self.layer2 = vg.Linear(hidden_size, output_size)
        # -- The linear layer (without activation) is a module of vugrad (vugrad/nn/linear.py).
        #    We make two and keep them as attributes of our network.

    def forward(self, input):
        assert len(input.shape) == 2, 'expected a batch: a matrix of instances by features'

        # first layer
        hidden = self.layer1(input)

        # non-linearity
        hidden = vg.sigmoid(hidden)
        # -- A utility function, as in PyTorch. We could also write
        #    hidden = vg.Sigmoid.do_forward(hidden)

        # second layer
        output = self.layer2(hidden)

        # softmax: each row becomes a probability distribution over the classes
        return vg.softmax(output)

    def parameters(self):
        return self.layer1.parameters() + self.layer2.parameters()


def parse_args(argv=None):
    parser = ArgumentParser(description="Train the course's MLP with vugrad.")
    parser.add_argument('-D', '--dataset', dest='data', default=DATASET, choices=['synth', 'mnist'],
                        help=f'Which data set to use (default {DATASET}).')
    parser.add_argument('-b', '--batch-size', dest='batch_size', default=BATCH_SIZE, type=int,
                        help=f'Instances per forward/backward pass (default {BATCH_SIZE}).')
    parser.add_argument('-e', '--epochs', dest='epochs', default=EPOCHS, type=int,
                        help=f'Complete passes over the training data (default {EPOCHS}).')
    parser.add_argument('-l', '--learning-rate', dest='lr', default=LEARNING_RATE, type=float,
                        help='The size of the gradient descent steps (default '
                             f'{LEARNING_RATE}). 0.1 works well for synth, 0.0001 for MNIST.')
    parser.add_argument('--seed', dest='seed', default=SEED, type=int,
                        help='Seed NumPy, for the same data and weights every run.')
    return parser.parse_args(argv)


def accuracy(mlp, x, y):
    """The fraction of the instances in x that the MLP puts in their class y."""
    with vg.no_grad():
        # -- no graph is built under no_grad(): we only want the values
        output = mlp(vg.TensorNode(x))
    predictions = np.argmax(output.value, axis=1)
    return (predictions == y).mean()


def main(argv=None):
    args = parse_args(argv)
    vg.tune_malloc()
    # -- Keeps freed memory for reuse between steps: a little faster (see vugrad/malloc.py).

    if args.seed is not None:
        np.random.seed(args.seed)

    ## Load the data
    if args.data == 'synth':
        (xtrain, ytrain), (xval, yval), num_classes = vg.load_synth()
    else:
        (xtrain, ytrain), (xval, yval), num_classes = vg.load_mnist(final=False, flatten=True)
        # -- read from $VUGRAD_DATA/mnist/ when set, else downloaded once into a cache folder

    print('## loaded data:')
    print(f'         number of instances: {xtrain.shape[0]} in training, '
          f'{xval.shape[0]} in validation')
    print(f' training class distribution: {np.bincount(ytrain)}')
    print(f'     val. class distribution: {np.bincount(yval)}')

    n, num_features = xtrain.shape
    b = args.batch_size

    ## Create the model
    mlp = MLP(input_size=num_features, output_size=num_classes)

    print('\n## Starting training')
    for epoch in range(args.epochs):

        print(f'epoch {epoch:03}')
        print(f'       accuracy: {accuracy(mlp, xval, yval):.4}')

        cl = 0.0  # running sum of the training loss

        # We loop over the data in batches of size `b`
        for fr in range(0, n, b):

            # Slice out the batch and its target values
            batch, targets = xtrain[fr:fr + b], ytrain[fr:fr + b]

            # Wrap the inputs in a node
            batch = vg.TensorNode(batch, requires_grad=False)
            # -- The data is a constant: requires_grad=False skips computing a gradient for it
            #    that we would never use.

            outputs = mlp(batch)
            loss = vg.celoss(outputs, targets)
            # -- The cross-entropy of the probabilities, summed over the batch. The computation
            #    graph is now complete: `loss` is the node at its top, from which we start the
            #    backpropagation, reset the gradients and clear the graph.

            cl += loss.value
            # -- We take the _raw_ value for the running loss. What would happen if we kept a
            #    running sum of the TensorNodes?

            # Start the backpropagation
            loss.backward()

            # Apply gradient descent
            for p in mlp.parameters():
                p.value -= args.lr * p.grad
                # -- We change the parameter nodes' values directly: this builds no graph.

            # Finally, we reset the gradients to zero ...
            loss.zero_grad()
            # ... and disconnect the graph below the loss, so that its memory is freed.
            loss.clear()

        print(f'   running loss: {cl / n:.4}')

    print(f'\nfinal validation accuracy: {accuracy(mlp, xval, yval):.4}')


if __name__ == '__main__':
    main()
