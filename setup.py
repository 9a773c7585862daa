"""Package discovery: ``methods/`` installs as ``vosbench_methods`` (no generic top-level name)."""

from setuptools import find_packages, setup

METHODS_DIR, METHODS_PACKAGE = "methods", "vosbench_methods"

packages = find_packages(include=["vosbench", "vosbench.*"]) + [
    METHODS_PACKAGE + name[len(METHODS_DIR):]
    for name in find_packages(include=[METHODS_DIR, METHODS_DIR + ".*"])
]

setup(packages=packages, package_dir={METHODS_PACKAGE: METHODS_DIR})
