"""
Train a two-layer MLP on the synthetic data (the default) or on MNIST:

    python experiments/train_mlp.py
    python experiments/train_mlp.py -D mnist -l 0.0001

The course's flags are -D (data set), -b (batch size), -e (epochs) and -l (learning rate).
Question 9 and 10's changes are one flag each (see --help):

    python experiments/train_mlp.py -D mnist -l 0.0001 --activation relu
    python experiments/train_mlp.py -D mnist -l 0.0001 --layers 3 --residual --momentum 0.9
    python experiments/train_mlp.py -D mnist -l 0.0001 --init zeros --seed 0 --out run.csv
    python experiments/train_mlp.py -D mnist --pixels unit --activation relu --init he \
        --optimizer adam -l 0.001 -e 10

MNIST pixels are the raw values 0..255 by default, as in the course's data (its -l 0.0001 is
tuned for them); --pixels unit scales them to [0, 1], the usual choice with Adam.

Where the pieces are: the MLP in vugrad/nn/mlp.py (Linear in vugrad/nn/linear.py), the
training loop in vugrad/train.py (train_epoch, evaluate), the optimizers in vugrad/optim/.
To try a model of your own, write a Module here and pass it in: train(config, model=MyMLP(...)).
"""

import os
import sys
from argparse import ArgumentParser

# -- Lets the script run from a fresh clone without `pip install -e .`
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

from vugrad.train import add_train_arguments, train_command  # noqa: E402

parser = ArgumentParser(description='Train an MLP with vugrad.')
add_train_arguments(parser)
args = parser.parse_args()

sys.exit(train_command(args))
