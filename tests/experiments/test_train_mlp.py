"""
experiments/train_mlp.py, the course's script: it runs from the command line, trains, and its MLP
class learns. The real-MNIST run reads $VUGRAD_DATA, else shared/data beside the repository, and
is skipped where the files are absent.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np

import vugrad as vg
from course import SCRIPT, course_mlp_class

REPO = Path(__file__).resolve().parents[2]


def run_script(*args, env=None, timeout=300):
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True,
                          cwd=REPO, env={**os.environ, **(env or {})}, timeout=timeout)


def final_accuracy(stdout):
    found = re.findall(r'^final validation accuracy: ([0-9.]+)$', stdout, flags=re.M)
    assert len(found) == 1, stdout
    return float(found[0])


def test_the_script_trains_on_synthetic_data():
    proc = run_script('-e', '2', '--seed', '0')
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert 'number of instances: 60000 in training, 10000 in validation' in out
    # -- one validation accuracy and one running loss per epoch, then the final accuracy
    assert re.findall(r'^epoch (\d+)$', out, flags=re.M) == ['000', '001']
    assert len(re.findall(r'^ +accuracy: ', out, flags=re.M)) == 2
    losses = [float(v) for v in re.findall(r'^ +running loss: ([0-9.]+)$', out, flags=re.M)]
    assert len(losses) == 2 and losses[1] < losses[0]
    # -- the majority class is about 60% of the synthetic data
    assert final_accuracy(out) > 0.9


def test_the_script_is_repeatable_with_a_seed():
    a, b = run_script('-e', '1', '--seed', '3'), run_script('-e', '1', '--seed', '3')
    assert a.returncode == b.returncode == 0
    assert a.stdout == b.stdout


def test_one_step_of_the_loop_decreases_the_loss_on_a_fixed_batch():
    MLP = course_mlp_class()
    np.random.seed(0)
    mlp = MLP(input_size=2, output_size=2)
    assert len(mlp.parameters()) == 4
    assert mlp.layer1.w.value.shape == (8, 2) and mlp.layer2.w.value.shape == (2, 8)
    (x, y), _, _ = vg.load_synth(num_train=64, num_val=0, seed=0)
    batch = vg.TensorNode(x, requires_grad=False)

    outputs = mlp(batch)
    # -- the outputs are probabilities
    np.testing.assert_allclose(outputs.value.sum(axis=1), 1.0, rtol=1e-5)
    assert np.all(outputs.value >= 0)

    # -- the script's loop, step for step
    loss = vg.celoss(outputs, y)
    before = float(loss.value)
    loss.backward()
    for p in mlp.parameters():
        assert np.any(p.grad != 0)
        p.value -= 0.01 * p.grad
    loss.zero_grad()
    loss.clear()
    assert all(np.all(p.grad == 0) for p in mlp.parameters())
    assert loss.source is None

    after = float(vg.celoss(mlp(batch), y).value)
    assert after < before


def test_an_unknown_dataset_is_a_clean_usage_error():
    proc = run_script('-D', 'nonsense')
    assert proc.returncode == 2
    assert 'Traceback' not in proc.stderr
    assert "invalid choice: 'nonsense'" in proc.stderr and 'synth' in proc.stderr
    assert proc.stderr.lstrip().startswith('usage:')


def test_help_shows_the_course_flags_and_their_defaults():
    proc = run_script('--help')
    assert proc.returncode == 0
    for flag in ('-D', '--dataset', '-b', '--batch-size', '-e', '--epochs', '-l',
                 '--learning-rate', '--seed'):
        assert flag in proc.stdout
    assert 'default 128' in proc.stdout and 'default 20' in proc.stdout


def test_one_epoch_on_real_mnist(real_data):
    # -- the course's MNIST run, one epoch of its 20 (about 30 s on 2 cores); nothing is
    #    downloaded: the files come from real_data ($VUGRAD_DATA, else ../shared/data)
    proc = run_script('-D', 'mnist', '-l', '0.0001', '-e', '1', '--seed', '0',
                      env={'VUGRAD_DATA': str(real_data)})
    assert proc.returncode == 0, proc.stderr
    assert 'number of instances: 55000 in training, 5000 in validation' in proc.stdout
    assert final_accuracy(proc.stdout) > 0.9
