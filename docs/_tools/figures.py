"""
Make the drawings of the guide (docs/img/*.dot and *.svg) with vugrad.viz itself.

    python docs/_tools/figures.py          # needs Graphviz's `dot` for the .svg files

Every figure is seeded, so running this again gives the same DOT text (tests/docs checks that
the committed .dot files still match what vugrad draws).
"""

import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))

import vugrad as vg  # noqa: E402
from vugrad import viz  # noqa: E402

IMG = os.path.join(os.path.dirname(HERE), 'img')


class MLP(vg.Module):
    """
    The MLP of the listing in docs/graph.md, which the figures draw: the course's MLP
    (experiments/train_mlp.py) with a log-softmax output and logceloss in place of its softmax
    and celoss. Kept as its own copy so that the figures match that listing.
    """

    def __init__(self, input_size, output_size, hidden_mult=4):
        super().__init__()
        self.layer1 = vg.Linear(input_size, hidden_mult * input_size)
        self.layer2 = vg.Linear(hidden_mult * input_size, output_size)

    def forward(self, input):
        hidden = vg.sigmoid(self.layer1(input))
        return vg.logsoftmax(self.layer2(hidden))


def course_step():
    """One training step of the course's MLP on a batch of 4 synthetic instances."""
    np.random.seed(0)
    mlp = MLP(input_size=2, output_size=2)
    (x, y), _, _ = vg.load_synth(num_train=4, num_val=0, seed=0)
    batch = vg.TensorNode(x, name='batch', requires_grad=False)  # data: a constant
    loss = vg.logceloss(mlp(batch), y)
    loss.name = 'loss'
    loss.backward()
    return loss, mlp


def figures():
    """{name: DOT text} of every figure in the guide."""
    out = {}

    a = vg.TensorNode(np.array([[1.0, 2.0], [3.0, 4.0]]), name='a')
    b = vg.TensorNode(np.array([[1.0, 1.0], [1.0, 1.0]]), name='b')
    c = a + b
    c.name = 'c'
    out['a_plus_b'] = c.to_dot(rankdir='LR')

    loss = (c * c).sum()
    loss.name = 'loss'
    loss.backward()
    out['a_plus_b_backward'] = loss.to_dot()

    loss, mlp = course_step()
    out['mlp_step'] = loss.to_dot(module=mlp)
    out['mlp_layers'] = loss.to_dot(collapse={'layer1': mlp.layer1, 'layer2': mlp.layer2})
    out['mlp_collapsed'] = loss.to_dot(collapse=mlp, rankdir='LR')

    x = vg.TensorNode(np.ones(3), name='x')
    y = x
    for _ in range(1000):
        y = vg.tanh(y)
    y.name = 'y'
    out['capped'] = y.to_dot(max_nodes=8, rankdir='LR')
    return out


def main():
    os.makedirs(IMG, exist_ok=True)
    for name, dot in figures().items():
        with open(os.path.join(IMG, name + '.dot'), 'w', encoding='utf-8') as f:
            f.write(dot)
        if viz.graphviz_available():
            svg = viz.render(dot, 'svg')
            with open(os.path.join(IMG, name + '.svg'), 'wb') as f:
                f.write(svg)
        print('wrote', name)


if __name__ == '__main__':
    main()
