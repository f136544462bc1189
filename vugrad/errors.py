"""
The exceptions vugrad raises for mistakes in user code.

Every one of them derives from `VugradError`, so `except vugrad.VugradError` catches them all,
and also from the built-in exception a Python programmer would expect (`ValueError` for a bad
shape, `TypeError` for a bad type, ...), so code written against NumPy keeps working.

-- These are raised with `raise`, never with `assert`: an assert vanishes under `python -O`,
   and a user's mistake must be reported whatever flags Python runs with.
"""


class VugradError(Exception):
    """Base class of every error vugrad raises for a user's mistake."""


class ShapeError(VugradError, ValueError):
    """Shapes that do not fit the op: they do not broadcast, or do not match what the op needs."""


class IndexOutOfRangeError(ShapeError, IndexError):
    """An index past the end of an axis. Also an IndexError, so that Python's iteration over
    a node (which indexes until IndexError) stops where the node ends."""


class InvalidArgumentError(VugradError, ValueError):
    """An option has a value the op or function does not know (reduction='max', say)."""


class InputTypeError(VugradError, TypeError):
    """An op was given something that is neither a TensorNode, a NumPy array nor a number."""


class BackwardError(VugradError, RuntimeError):
    """backward() was called where it cannot run (from a non-scalar node, say)."""


class NoGradientError(VugradError, TypeError):
    """A gradient was asked of a node that cannot have one (an integer or boolean node)."""


class OpDefinitionError(VugradError, TypeError):
    """A user-written Op broke the Op contract (wrong number, shape or type of gradients)."""


class AnomalyError(VugradError, FloatingPointError):
    """Inside `vugrad.detect_anomaly()`: an op produced NaN or inf in forward or backward."""


class SavedArrayModifiedError(VugradError, RuntimeError):
    """An array an op saved for its backward was changed in place before backward ran."""


class DivergedError(VugradError, FloatingPointError):
    """
    Training diverged: the loss became NaN or infinite, or exploded while finite (a batch's
    loss over a million times the first batch's): the run cannot recover.
    """

    def __init__(self, message, epoch=None, batch=None):
        super().__init__(message)
        self.epoch, self.batch = epoch, batch


class GradcheckError(VugradError, AssertionError):
    """`vugrad.gradcheck` found an analytical gradient that disagrees with finite differences."""
