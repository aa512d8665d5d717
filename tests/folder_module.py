"""A module of an offering's folder that imports nothing of the project, loaded from its file for a test, without
the folder on sys.path (where its other files would hide the root's)."""
import importlib.util
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load(folder, name):
    """folder/name.py as the module `name`, imported once."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, folder, f'{name}.py'))
        sys.modules[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules[name])
    return sys.modules[name]
