"""xharness core: plugin discovery, task kinds and the three-phase transfer protocol.

Importing this package is cheap on purpose: plugins import it for ``hookimpl`` and the
spec classes, and ``xharness list`` must never pull in torch, transformers or datasets.
"""

from harness.contract.spec import HubSource, KindSpec, LocalSource, ModelSpec, PublishedSizes, TaskSpec
from harness.contract.hookspecs import hookimpl

__version__ = "0.2.0"
#: The version of harness.api, the public surface plugins import (``MAJOR.MINOR``; see its docstring).
API_VERSION = "1.1"

__all__ = ["HubSource", "KindSpec", "LocalSource", "ModelSpec", "PublishedSizes", "TaskSpec", "hookimpl", "__version__"]
