"""The network every benchmark times: the course's MLP, ending in log-probabilities (fused loss)."""

import vugrad as vg


class MLP(vg.Module):
    """Linear, sigmoid, Linear, log-softmax: the course's network (experiments/train_mlp.py) with
    the numerically stable pair logsoftmax + logceloss in place of softmax + celoss."""

    def __init__(self, n_in, hidden, n_out):
        super().__init__()
        self.layer1 = vg.Linear(n_in, hidden)
        self.layer2 = vg.Linear(hidden, n_out)

    def forward(self, x):
        return vg.logsoftmax(self.layer2(vg.sigmoid(self.layer1(x))))
