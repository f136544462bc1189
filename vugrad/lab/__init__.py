"""
vugrad.lab: the training kit, built on the engine (vugrad.core, nn, optim, data, viz) and kept
apart from it: the engine never imports the kit.

    from vugrad.lab import run
    from vugrad.lab.config import TrainConfig
    metrics = run(TrainConfig(data='mnist', lr=0.0001))     # backend='torch': the same in PyTorch

The modules, each importing only those above it in this list (no cycles):

    vugrad.lab.tables         the names of --optimizer, --schedule, --loss and --model, and how
                              each backend builds them (OPTIMIZERS, SCHEDULES, LOSSES, MODELS)
    vugrad.lab.config         TrainConfig (every setting of a run, its validation) and the
                              command-line options of `vugrad train`
    vugrad.lab.models         the CNNs of --model lenet|blitz (build_cnn: exact layer lists,
                              mirrored by the torch backend) and the losses of --loss
    vugrad.lab.loop           what both backends share: load_data, build_model, the epoch loop
                              (run_epochs, run_batches, load_and_log), write_metrics
    vugrad.lab.train          the vugrad backend: optimizers, schedules, train_epoch, evaluate,
                              train(config)
    vugrad.lab.torch_backend  the PyTorch backend: the same run, step for step, in torch
                              (imported only when asked for; PyTorch is optional)
    vugrad.lab.runner         run(config): picks the backend, once; `vugrad train`
    vugrad.lab.per_class      the report's table of validation accuracy per class
    vugrad.lab.report         a sweep's outputs from its files: metrics.csv, curves.png, report.md
    vugrad.lab.sweep.grid     a sweep's settings and values, its grid, its checks, TOML files
    vugrad.lab.sweep.lock     the lock of a sweep's folder
    vugrad.lab.report_command `vugrad plot`: remake those outputs (under the folder's lock)
    vugrad.lab.sweep.runs     one run of a sweep in its folder: start_run, run_task, outcome
    vugrad.lab.sweep.pool     LocalPool: a sweep's runs in processes on this machine
    vugrad.lab.cluster        ClusterPool: a sweep's runs on a Dask cluster (imported only for
                              --cluster; Dask is optional)
    vugrad.lab.sweep.driver   run_sweep: the grid, through a pool, into a folder, then the outputs
    vugrad.lab.sweep.command  `vugrad sweep`; vugrad.lab.sweep (the package) gathers the public
                              names of its modules
    vugrad.lab.graph          `vugrad graph`: draw one training step's computation graph, or
                              step through its backward (--steps)
    vugrad.lab.check          `vugrad check`: check a learner's own ops (vugrad.opcheck)
    vugrad.lab.cli            the `vugrad` command, which imports a subcommand's module only when
                              that subcommand runs

Every file the kit writes goes through vugrad.fileio (atomic_write, save_arrays). Importing
`vugrad` does not import the kit.
"""

from .runner import run

__all__ = ['run']
