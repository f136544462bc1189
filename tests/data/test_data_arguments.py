"""Bad arguments of the loaders raise vugrad's typed errors, naming the loader and the choices,
before anything is read or downloaded."""

import pytest

import vugrad as vg
from vugrad.errors import InputTypeError, InvalidArgumentError

LOADERS = [('CIFAR-10', vg.load_cifar10), ('MNIST', vg.load_mnist),
           ('Fashion-MNIST', vg.load_fashion_mnist)]


@pytest.mark.parametrize('name, load', LOADERS, ids=[n for n, _ in LOADERS])
def test_unknown_pixels_are_an_invalid_argument(name, load, tmp_path):
    message = rf"{name}: pixels='bogus' is not one of .*'unit'"
    with pytest.raises(InvalidArgumentError, match=message):
        load(pixels='bogus', data_dir=str(tmp_path))


@pytest.mark.parametrize('dtype', ['int32', 'nonsense', bool])
@pytest.mark.parametrize('name, load', LOADERS + [('load_synth', vg.load_synth)],
                         ids=[n for n, _ in LOADERS] + ['synth'])
def test_a_dtype_that_is_not_a_float_is_an_input_type_error(name, load, dtype, tmp_path):
    kwargs = {} if load is vg.load_synth else {'data_dir': str(tmp_path)}
    with pytest.raises(InputTypeError, match=rf'{name}: dtype=.* is not a floating point type'):
        load(dtype=dtype, **kwargs)
