"""UvA 2022-2024's mlp_numpy.py: UvA 2021's MLP(n_inputs, n_hidden, n_classes), with ELU in the hidden layers."""
import os
import sys

_root_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _root_dir not in sys.path:  # the root's modules: behind this folder's, ahead of any installed package's
    sys.path.insert(1, _root_dir)
import offerings

offerings.as_file_of(globals(), 'uva2021')
# UvA 2021's MLP reads ACTIVATION when it is built, from this module's namespace, where its class now lives
ACTIVATION = 'elu'
