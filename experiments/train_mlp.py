"""
Train a two-layer MLP on the synthetic data (the default) or on MNIST:

    python experiments/train_mlp.py
    python experiments/train_mlp.py -D mnist -l 0.0001
"""

import os
import sys
from argparse import ArgumentParser

import numpy as np

# -- Lets the script run from a fresh clone without `pip install -e .`
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

import vugrad as vg  # noqa: E402

parser = ArgumentParser()
parser.add_argument('-D', '--dataset', dest='data', default='synth', type=str,
                    help='Which dataset to use. [synth, mnist]')
parser.add_argument('-b', '--batch-size', dest='batch_size', default=128, type=int,
                    help='The batch size (instances per forward/backward pass).')
parser.add_argument('-e', '--epochs', dest='epochs', default=20, type=int,
                    help='The number of epochs (complete passes over the training data).')
parser.add_argument('-l', '--learning-rate', dest='lr', default=0.01, type=float,
                    help='The learning rate. 0.1 works well for synth, 0.0001 for MNIST.')
args = parser.parse_args()

if args.data == 'synth':
    (xtrain, ytrain), (xval, yval), num_classes = vg.load_synth()
elif args.data == 'mnist':
    (xtrain, ytrain), (xval, yval), num_classes = vg.load_mnist(final=False, flatten=True)
else:
    raise SystemExit(f'Dataset {args.data} not recognized: use synth or mnist.')

print('## loaded data:')
print(f'         number of instances: {xtrain.shape[0]} in training, {xval.shape[0]} in validation')
print(f' training class distribution: {np.bincount(ytrain)}')
print(f'     val. class distribution: {np.bincount(yval)}')

num_instances, num_features = xtrain.shape


class MLP(vg.Module):
    """A hidden layer with a sigmoid, and a log-softmax on the output."""

    def __init__(self, input_size, output_size, hidden_mult=4):
        super().__init__()
        hidden_size = hidden_mult * input_size
        self.layer1 = vg.Linear(input_size, hidden_size)
        self.layer2 = vg.Linear(hidden_size, output_size)

    def forward(self, input):
        hidden = vg.sigmoid(self.layer1(input))
        return vg.logsoftmax(self.layer2(hidden))

    def parameters(self):
        return self.layer1.parameters() + self.layer2.parameters()


mlp = MLP(input_size=num_features, output_size=num_classes)
n, b = xtrain.shape[0], args.batch_size


def validation_accuracy():
    with vg.no_grad():
        predictions = mlp(xval).value.argmax(axis=1)
    return (predictions == yval).mean()


print('\n## Starting training')
for epoch in range(args.epochs):
    print(f'epoch {epoch:03}')
    print(f'       accuracy: {validation_accuracy():.4}')
    cl = 0.0
    for fr in range(0, n, b):
        batch, targets = xtrain[fr:fr + b], ytrain[fr:fr + b]
        # -- the batch goes in as a plain array: a constant, so no gradient is computed for it
        loss = vg.logceloss(mlp(batch), targets)
        cl += loss.value
        loss.backward()
        for parm in mlp.parameters():
            parm.value -= args.lr * parm.grad
        loss.zero_grad()
        loss.clear()
    print(f'   running loss: {cl / n:.4}')

print(f'final validation accuracy: {validation_accuracy():.4}')
