"""The generated bindings of the `weir:filter` world, when running inside a component.

componentize-py generates `wit_world` and `componentize_py_types` while it builds the
component. Outside one (the build command, a unit test of a filter's helpers) they do
not exist, and the SDK falls back to stand-ins: the state store is kept in memory and
log messages go to stderr. Nothing else in the SDK imports the generated code.
"""

try:
    from componentize_py_types import Err
    from wit_world.imports import host, state, types

    IN_WEIR = True
except ImportError:  # not inside a component
    Err = None
    host = state = types = None
    IN_WEIR = False
