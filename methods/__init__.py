"""Method implementations shipped with vosbench, installed as ``vosbench_methods``.

One sub-package per method (network, config, checkpoint conversion). They reach vosbench's
catalogues as any outside package's methods do: through the entry points ``setup.cfg``
declares (``vosbench.methods``, ``vosbench.trainers``); the ``vosbench`` package never imports them.
"""
