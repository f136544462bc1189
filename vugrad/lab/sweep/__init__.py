"""
Sweeps: a grid of training runs, in parallel processes, ending in a table and a plot.

    vugrad sweep -D mnist -l 0.0001 -e 5 --vary activation=sigmoid,relu --seeds 3 \
        --out runs/activations
    vugrad sweep --config examples/activations.toml   # the same, from a file
    vugrad plot runs/activations                      # remake the plot and report from the files

Every option of `vugrad train` can be fixed (as a flag, as for `vugrad train`) or varied
(`--vary NAME=V1,V2,...`, by the option's name or its field in vugrad.lab.config.TrainConfig:
`--vary lr=0.001,0.0001`, `--vary learning-rate=...`, `--vary hidden=none,300`). The grid is
every combination of the varied values, each run with `--seeds N` seeds (0 .. N-1, from
`--seed S` on: S .. S+N-1). `--vary backend=vugrad,torch` runs the same grid in both libraries.

Each run gets its own folder, named after its varied settings and seed
(DIR/activation=relu,seed=1/), and its own process, with cores // jobs BLAS threads. In it:
config.json (at the start: every setting, after the data set's recipe, as
TrainConfig.resolved() has them: -D cifar10 records batch_size=4), log.txt, and when it ends
metrics.json (written atomically: a run is
finished when that file exists; its status is 'diverged' where the training loss became NaN or
inf, with the epochs before) or error.txt (the traceback; the other runs go on). Running the
same command again skips the finished runs and reruns the others. Every run's settings, and the
sweep's own, are checked before the first run starts (also by --dry-run). At the end the folder
gets metrics.csv, curves.png and report.md (see vugrad.lab.report).

The runs run in processes here (LocalPool), or, with --cluster ADDRESS (a Dask scheduler's
address, or local:N), as tasks on a Dask cluster: vugrad.lab.cluster, whose pool sends the
runs' files back here, where everything else happens as for a local sweep.

From Python (in a script, under `if __name__ == '__main__':`, as runs start new processes):

    from vugrad.lab.sweep import run_sweep
    run_sweep('runs/activations', fixed=dict(data='mnist', lr=0.0001, epochs=5),
              vary=dict(activation=['sigmoid', 'relu']), seeds=3)

A TOML file holds the same: options of `vugrad train` at the top level (or under [fixed]),
the lists of values under [vary], and the sweep's own out, seeds, jobs, threads:

    out = "runs/activations"
    seeds = 3
    data = "mnist"
    lr = 0.0001
    epochs = 5
    [vary]
    activation = ["sigmoid", "relu"]

Options given on the command line take precedence over the file's.

The package, each module importing only those above it (and vugrad.lab.cluster, for a sweep
on a cluster, between pool and driver):

    grid      the settings and their values, the grid (make_grid), run ids, the sweep's own
              options, TOML files; SweepError
    lock      the folder's lock (folder_lock, SweepLockedError), held by `vugrad plot` too
    runs      one run in its folder: start_run, run_task, outcome
    pool      LocalPool: the runs in processes on this machine
    driver    run_sweep: the grid through a pool (make_pool), then the outputs
    command   `vugrad sweep`: add_sweep_arguments, spec_from_args, sweep_command

`vugrad plot` (remaking the outputs from the runs' files) is vugrad.lab.report_command.
"""

from ..config import BACKENDS
from .command import add_sweep_arguments, spec_from_args, sweep_command
from .driver import make_pool, run_sweep
from .grid import (CLUSTER_DECIDES, SweepError, check_sweep, cluster_problem, load_toml,
                   make_grid, parse_value, run_id, setting_name)
from .lock import LOCK_NAME, SweepLockedError, folder_lock
from .pool import LocalPool
from .runs import outcome, run_task, start_run

__all__ = [
    'BACKENDS',
    'CLUSTER_DECIDES',
    'LOCK_NAME',
    'LocalPool',
    'SweepError',
    'SweepLockedError',
    'add_sweep_arguments',
    'check_sweep',
    'cluster_problem',
    'folder_lock',
    'load_toml',
    'make_grid',
    'make_pool',
    'outcome',
    'parse_value',
    'run_id',
    'run_sweep',
    'run_task',
    'setting_name',
    'spec_from_args',
    'start_run',
    'sweep_command',
]
