"""
Modules: parameters bundled with the function that uses them.
"""

from ..core import Module
from .linear import Linear

__all__ = ['Module', 'Linear']
