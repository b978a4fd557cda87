"""JVM-free models: one encoder, one sigmoid, margin and SHAP per runtime kind.

The public names below are the runtime's API; training's Spark workers, batch scoring,
partial dependence, permutation importance, the bundle's parity check and the dashboard
all call them.
"""

from runtime.core import KINDS, Kernel, ModelRuntime, build_kernel, register, sigmoid
from runtime.encoding import encode_rows, grouping_matrix

__all__ = ["KINDS", "Kernel", "ModelRuntime", "build_kernel", "encode_rows", "grouping_matrix", "register", "sigmoid"]
