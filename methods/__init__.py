"""Method implementations shipped with vosbench, installed as ``vosbench_methods``.

One sub-package per method (network, config, checkpoint conversion); the registry in
``vosbench`` refers to them lazily as ``"vosbench_methods.<name>:<Object>"``.
"""
