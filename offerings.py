"""The offerings of the course this project serves, and which folder serves each.

The root is UvA 2019's interface, and it also serves UvA 2018 and VU 2021. Where another offering's template asks
for something that conflicts with the root's (the MLP's activation, get_cifar10's return, the scripts' train()
and flags), a folder named for the offerings it serves holds a face for each of that template's files: the root's
module of the same name, run by as_file_of, with the template's own definitions after it. A student of that
offering works in its folder (`cd uva2021 && python train_mlp_numpy.py`), and the staff's tests find the
template's names there.
"""
import os
import types

ROOT = os.path.dirname(os.path.abspath(__file__))

# offering -> (the folder serving it, relative to the root: '' for the root itself; what tells it apart)
OFFERINGS = {
    'uva2018': ('', 'ReLUModule, one-hot targets, MLP(n_inputs, n_hidden, n_classes) with ReLU (--neg_slope 0)'),
    'uva2019': ('', 'the interface the project is laid out for: LeakyReLU with neg_slope'),
    'uva2020': ('uva2020', 'ELU in the MLPs, custom_layernorm.py'),
    'uva2021': ('uva2021', 'ReLU, class-index targets, Kaiming init, train() over DataLoaders, evaluate_model '
                           'returns the accuracy'),
    'uva2022': ('uva2022_2024', 'ELU, train() over DataLoaders, confusion-matrix metrics'),
    'uva2023': ('uva2022_2024', 'as 2022'),
    'uva2024': ('uva2022_2024', 'as 2022, ELUModule(alpha)'),
    'bgu2023': ('bgu2023', "UvA 2022's files with ReLU (RELUModule)"),
    'vu2021': ('', "vugrad's names in autodiff.py, vu_data.load_synth"),
}
DEFAULT = 'uva2019'


def folder(offering):
    """The absolute path of the folder that serves `offering`; ValueError naming the offerings for another name."""
    if offering not in OFFERINGS:
        raise ValueError(f'unknown offering {offering!r}: expected one of {", ".join(OFFERINGS)}')
    return os.path.join(ROOT, OFFERINGS[offering][0])


def as_file_of(namespace, serving=''):
    """Make the face whose globals are `namespace` the module of the same file name in the folder `serving` (default:
    the root) by running that file's source in it, and return what it defines then, by name (so that a face can
    subclass the root's classes). What the face defines after the call replaces those definitions.

    A face changes defaults, or names the root's own code does not call (the root calls every class a face
    subclasses with all its arguments), so the root's code works the same behind a face. Each face puts the root on
    sys.path right behind its folder, before the installed packages (HuggingFace's `datasets` would hide the
    root's): the modules that have no face are found there. The root's source runs with the face's `__file__`, so
    a served file must not locate anything by its own `__file__`.
    """
    path = os.path.join(ROOT, serving, os.path.basename(namespace['__file__']))
    # Run as the module it is, not as a script: the file's `if __name__ == '__main__'` block waits for the face's.
    # The face keeps its own docstring.
    kept = {name: namespace[name] for name in ('__name__', '__doc__')}
    namespace['__name__'] = os.path.splitext(os.path.basename(path))[0]
    try:
        with open(path, 'rb') as file:
            exec(compile(file.read(), path, 'exec'), namespace)
    finally:
        namespace.update(kept)
    return types.SimpleNamespace(**namespace)
