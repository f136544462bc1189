"""
Ops as a learner writes them, for the tests of the op checker: correct ones, and for every
finding kind, diagnosis and trap, one with exactly that mistake. (None is a course exercise:
no ReLU, no Expand; the division and matrix product here are test ops with deliberate bugs.)
"""

import numpy as np

from vugrad.core import Op

# ---------------------------------------------------------------------- correct ops


class Divide(Op):
    @staticmethod
    def forward(context, a, b):
        context['a'], context['b'] = a, b
        return a / b

    @staticmethod
    def backward(context, go):
        a, b = context['a'], context['b']
        return go / b, -go * a / b ** 2


class BroadcastDivide(Divide):
    broadcasting = True


class Tanh(Op):
    @staticmethod
    def forward(context, x):
        y = np.tanh(x)
        context['y'] = y
        return y

    @staticmethod
    def backward(context, go):
        return go * (1 - context['y'] ** 2)


class MatMul(Op):
    @staticmethod
    def forward(context, a, b):
        context['a'], context['b'] = a, b
        return a @ b

    @staticmethod
    def backward(context, go):
        a, b = context['a'], context['b']
        return go @ b.T, a.T @ go


class BroadcastAdd(Op):
    broadcasting = True

    @staticmethod
    def forward(context, a, b):
        return a + b

    @staticmethod
    def backward(context, go):
        return go, go


class SinCos(Op):
    """Two outputs."""

    @staticmethod
    def forward(context, x):
        context['x'] = x
        return np.sin(x), np.cos(x)

    @staticmethod
    def backward(context, gsin, gcos):
        x = context['x']
        return gsin * np.cos(x) - gcos * np.sin(x)


class ScaledAdd(Op):
    """a + alpha * b, alpha a constant keyword."""

    @staticmethod
    def forward(context, a, b, *, alpha=2.0):
        context['alpha'] = alpha
        return a + alpha * b

    @staticmethod
    def backward(context, go):
        return go, context['alpha'] * go


class Softplus(Op):
    @staticmethod
    def forward(context, x, *, beta=1.0):
        context['x'], context['beta'] = x, beta
        return np.logaddexp(0, beta * x) / beta

    @staticmethod
    def backward(context, go):
        x, beta = context['x'], context['beta']
        return go / (1 + np.exp(-beta * x))


class Cube(Op):
    @staticmethod
    def forward(context, x):
        context['x'] = x
        return x ** 3

    @staticmethod
    def backward(context, go):
        return go * 3 * context['x'] ** 2


class LogOp(Op):
    """Only defined for positive values: the checker must switch to positive inputs."""

    @staticmethod
    def forward(context, x):
        context['x'] = x
        return np.log(x)

    @staticmethod
    def backward(context, go):
        return go / context['x']


class RowNormalize(Op):
    """Each row divided by its sum (positive inputs)."""

    @staticmethod
    def forward(context, x):
        s = x.sum(axis=1, keepdims=True)
        context['x'], context['s'] = x, s
        return x / s

    @staticmethod
    def backward(context, go):
        x, s = context['x'], context['s']
        return go / s - (go * x).sum(axis=1, keepdims=True) / s ** 2


class Kink(Op):
    """|x|: a kink at 0, where finite differences cannot be trusted (backward takes slope 1)."""

    @staticmethod
    def forward(context, x):
        context['x'] = x
        return np.abs(x)

    @staticmethod
    def backward(context, go):
        return go * np.where(context['x'] >= 0, 1.0, -1.0)


CORRECT = [Divide, BroadcastDivide, Tanh, MatMul, BroadcastAdd, SinCos, ScaledAdd, Softplus,
           Cube, LogOp, RowNormalize, Kink]

# ---------------------------------------------------------------------- the rules of an op


class OneGradient(Divide):          # -- wrong-count
    @staticmethod
    def backward(context, go):
        return go / context['b']


class NoneForB(Divide):             # -- none-for-needed-input
    @staticmethod
    def backward(context, go):
        return go / context['b'], None


class AddNotSummed(Op):             # -- wrong-shape: broadcasts, but no broadcasting = True
    @staticmethod
    def forward(context, a, b):
        return a + b

    @staticmethod
    def backward(context, go):
        return go, go


class MatMulGradTransposed(MatMul):     # -- wrong-shape: b's gradient is the transpose
    @staticmethod
    def backward(context, go):
        a, b = context['a'], context['b']
        return go @ b.T, go.T @ a


class MatMulFactorsSwapped(MatMul):     # -- wrong-shape: right transposed shape, wrong values
    @staticmethod
    def backward(context, go):
        a, b = context['a'], context['b']
        return go @ b.T, go.T @ np.ones_like(a)


class Flattened(Tanh):              # -- wrong-shape: neither summable nor a transpose
    @staticmethod
    def backward(context, go):
        return (go * (1 - context['y'] ** 2)).reshape(-1)


class Float32Tanh(Tanh):            # -- wrong-dtype
    @staticmethod
    def backward(context, go):
        return (go * (1 - context['y'] ** 2)).astype(np.float32)


class ReturnsNode(Tanh):            # -- wrong-dtype: not an array at all
    @staticmethod
    def backward(context, go):
        from vugrad.core import TensorNode
        return TensorNode(go * (1 - context['y'] ** 2))


class ChangesGo(Tanh):              # -- modifies-upstream-gradient
    @staticmethod
    def backward(context, go):
        go *= 1 - context['y'] ** 2
        return go


class ChangesInput(Op):             # -- modifies-input, in forward
    @staticmethod
    def forward(context, x):
        x *= 3
        return x.copy()

    @staticmethod
    def backward(context, go):
        return go * 3


class ChangesSaved(Tanh):           # -- modifies-input, in backward (a saved array)
    @staticmethod
    def backward(context, go):
        y = context['y']
        y **= 2
        return go * (1 - y)


class Noisy(Tanh):                  # -- not-deterministic
    @staticmethod
    def backward(context, go):
        return go * (1 - context['y'] ** 2) * (1 + 1e-8 * np.random.rand())


class FailsForward(Op):             # -- forward-fails
    @staticmethod
    def forward(context, x):
        return x @ x @ x.T.T.T[0, 0, 0]

    @staticmethod
    def backward(context, go):
        return go


class FailsBackward(Tanh):          # -- backward-fails
    @staticmethod
    def backward(context, go):
        return go * (1 - context['out'] ** 2)


class Hangs(Tanh):                  # -- timed-out
    @staticmethod
    def backward(context, go):
        while True:
            pass


class Huge(Op):                     # -- crashed (MemoryError)
    @staticmethod
    def forward(context, x):
        return np.ones(10 ** 12) * x.sum()

    @staticmethod
    def backward(context, go):
        return go

# ---------------------------------------------------------------------- diagnoses


class SignDivide(Divide):           # -- sign, input 1
    @staticmethod
    def backward(context, go):
        a, b = context['a'], context['b']
        return go / b, go * a / b ** 2


class ScaleAdd(ScaledAdd):          # -- scale 0.5, input 1 (forgot alpha)
    @staticmethod
    def backward(context, go):
        return go, go


class TransposedMatMul(MatMul):     # -- transposed, input 0 (square inputs)
    @staticmethod
    def backward(context, go):
        a, b = context['a'], context['b']
        return b @ go.T, a.T @ go


class AddSlice(Op):                 # -- not-summed-over-broadcast, input 1: one row of go
    @staticmethod
    def forward(context, a, b):
        return a + b

    @staticmethod
    def backward(context, go):
        return go, go[0]


class LocalTanh(Tanh):              # -- ignores-upstream-gradient
    @staticmethod
    def backward(context, go):
        return 1 - context['y'] ** 2


class CubeAtOutput(Op):             # -- uses-output-as-input
    @staticmethod
    def forward(context, x):
        out = x ** 3
        context['out'] = out
        return out

    @staticmethod
    def backward(context, go):
        return go * 3 * context['out'] ** 2


class OffByOneElement(Tanh):        # -- wrong-values at one element, no diagnosis
    @staticmethod
    def backward(context, go):
        g = go * (1 - context['y'] ** 2)
        g[1, 2] += 0.5
        return g

# ---------------------------------------------------------------------- traps


class SameArrayTwice(Op):           # -- same-input-twice: treats x * x unlike x * y
    @staticmethod
    def forward(context, a, b):
        context['a'], context['b'] = a, b
        return a * b if a is not b else 2 * a * b

    @staticmethod
    def backward(context, go):
        return go * context['b'], go * context['a']


class ClipsGo(Cube):                # -- output-used-twice: clips go (a large go is cut)
    @staticmethod
    def backward(context, go):
        return np.clip(go, -4, 4) * 3 * context['x'] ** 2


class ClassState(Op):               # -- diamond: saves in the class, not in the context
    saved = None

    @staticmethod
    def forward(context, x):
        ClassState.saved = x
        return x ** 3

    @staticmethod
    def backward(context, go):
        return go * 3 * ClassState.saved ** 2


class CountsCalls(Cube):            # -- backward-twice: each backward scales by its count
    @staticmethod
    def backward(context, go):
        context['calls'] = context.get('calls', 0) + 1
        return go * 3 * context['x'] ** 2 * context['calls']


class Limited(Tanh):                # -- long-chain: fails after 500 uses
    uses = 0

    @staticmethod
    def forward(context, x):
        Limited.uses += 1
        if Limited.uses > 500:
            raise RuntimeError('used too often')
        return Tanh.forward(context, x)
