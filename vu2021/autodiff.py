"""A miniature tensor-valued autodiff engine in NumPy, with the names of the VU course's vugrad.

    a, b = TensorNode(np.ones((2, 3))), TensorNode(np.full((2, 3), 2.0))
    c = a * b + a                  # builds the graph eagerly: c.value is already [[3, 3, 3], [3, 3, 3]]
    loss = Sum.do_forward(c)       # a scalar node
    loss.backward()                # a.grad == b.value + 1, b.grad == a.value

The graph has two kinds of node. A `TensorNode` holds a value (a NumPy array), the gradient of the loss
with respect to it (`.grad`, same shape and dtype) and the `OpNode` that produced it (`.source`, None for a
leaf such as a parameter or the data). An `OpNode` records one application of an `Op`: which op, its
inputs, its outputs and the `context` that the op's forward kept for its backward. An `Op` is a class of
two static methods on raw arrays, `forward(context, *inputs, **constants)` and
`backward(context, *output_grads)`; `Op.do_forward(*nodes, **constants)` runs forward and links the
graph. `TensorNode.backward()` then calls every op's backward once, outputs before inputs, each op adding
its gradients into its inputs' `.grad`.

Element-wise ops need inputs of one shape: nothing broadcasts, so every copy of a value is an explicit
`Expand` whose backward sums the copies' gradients. Data that needs no gradient is a
`TensorNode(x, requires_grad=False)`; ops skip the gradients nobody asked for.
"""
import itertools

import numpy as np


class TensorNode:
    """A value in the graph: .value (array), .grad (dL/dvalue, same shape and dtype), .source (OpNode or None).

    requires_grad=False marks data and constants: their .grad is None and backward computes nothing for
    them. An op's output requires a gradient when any of its inputs does. name is a label for repr, as in vugrad.
    """

    __array_ufunc__ = None  # array + node is a TypeError, not an object array of nodes

    def __init__(self, value, source=None, name=None, *, requires_grad=True):
        if name is not None and not isinstance(name, str):  # TensorNode(x, None, False) meant requires_grad=False
            raise TypeError(f'name must be a string or None, got {name!r}; pass requires_grad= by name')
        # The array itself, not a copy: updating a parameter's value in place (SGD) is seen by the next forward.
        value = np.asarray(value)
        if value.dtype.kind != 'f':
            value = value.astype(np.float64)
        self.value = value
        self.source, self.name = source, name
        self.requires_grad = requires_grad
        self.grad = np.zeros(value.shape, value.dtype) if requires_grad else None

    @property
    def shape(self):
        return self.value.shape

    def size(self):
        """The value's shape, as vugrad's TensorNode.size() gives it."""
        return self.value.shape

    def backward(self):
        """Backpropagate from this scalar node: afterwards every node upstream holds dL/dnode in .grad.

        The leaves' gradients accumulate, as in PyTorch: call zero_grad() between steps. The other nodes'
        gradients are recomputed, so a second backward() adds exactly one more gradient to the leaves.
        """
        if self.value.size != 1:
            raise ValueError(f'backward() starts from a scalar node (one element), got shape {self.shape}; '
                             f'reduce it first, e.g. with Sum.do_forward')
        if not self.requires_grad:
            raise ValueError('backward() from a node that requires no gradient: nothing it depends on does')
        # An op node is created after the ops that produced its inputs, so in reverse creation order every op
        # comes after all the ops that consume its outputs: its gradients are complete when its turn comes.
        op_nodes = sorted(_ops_upstream(self), key=lambda op_node: op_node.created, reverse=True)
        for op_node in op_nodes:
            for output in op_node.outputs:
                output.grad.fill(0)
        self.grad += 1
        for op_node in op_nodes:
            op_node.backward()

    def zero_grad(self):
        """Set .grad to zero here and in every node upstream (parameters included). Call it before clear(),
        which cuts this node off from the parameters."""
        for node in [self] + [parent for op_node in _ops_upstream(self, every_op=True) for parent in op_node.inputs]:
            if node.requires_grad:
                node.grad.fill(0)

    def clear(self):
        """Disconnect the graph upstream of this node, so that it can be freed at once.

        Output and source point at each other, a reference cycle that only Python's cycle collector
        could free; cutting the links lets reference counting free every intermediate value right away.
        Leaves (the parameters) keep their values and gradients. Afterwards this node is a leaf: backward()
        and zero_grad() from it reach nothing upstream.
        """
        for op_node in _ops_upstream(self, every_op=True):
            for output in op_node.outputs:
                output.source = None
            op_node.inputs = op_node.outputs = op_node.context = None

    def __add__(self, other):
        return Add.do_forward(self, other)

    def __sub__(self, other):
        return Subtract.do_forward(self, other)

    def __mul__(self, other):
        return Multiply.do_forward(self, other)

    def __truediv__(self, other):
        return Divide.do_forward(self, other)

    def __matmul__(self, other):
        return MatrixMultiply.do_forward(self, other)

    # Reflected forms, so that array + node fails with do_forward's message instead of NumPy's.
    def __radd__(self, other):
        return Add.do_forward(other, self)

    def __rsub__(self, other):
        return Subtract.do_forward(other, self)

    def __rmul__(self, other):
        return Multiply.do_forward(other, self)

    def __rtruediv__(self, other):
        return Divide.do_forward(other, self)

    def __rmatmul__(self, other):
        return MatrixMultiply.do_forward(other, self)

    def __repr__(self):
        source = 'leaf' if self.source is None else f'source={self.source.op.__name__}'
        name = '' if self.name is None else f'name={self.name!r}, '
        return f'TensorNode({name}shape={self.shape}, dtype={self.value.dtype}, {source})'


class OpNode:
    """One application of an op: .op (the Op class), .context (what its forward kept), .inputs, .outputs."""

    _creations = itertools.count()

    def __init__(self, op, context, inputs):
        self.created = next(OpNode._creations)
        self.op = op
        self.context = context
        self.inputs = inputs
        self.outputs = None  # the output nodes need this node as their source, so they are made after it

    def backward(self):
        """Add the op's gradients with respect to its inputs into the inputs' .grad."""
        input_grads = self.op.backward(self.context, *(output.grad for output in self.outputs))
        if not isinstance(input_grads, tuple):
            input_grads = (input_grads,)
        name = f'{self.op.__name__}.backward'
        if len(input_grads) != len(self.inputs):
            raise ValueError(f'{name} returned {len(input_grads)} gradients for {len(self.inputs)} inputs')
        for i, (node, grad) in enumerate(zip(self.inputs, input_grads)):
            if not node.requires_grad:
                continue
            if grad is None:
                raise ValueError(f'{name} returned None for input {i}, which requires a gradient')
            if grad.shape != node.shape:
                raise ValueError(f'{name} returned a gradient of shape {grad.shape} for input {i} of shape '
                                 f'{node.shape}')
            node.grad += grad

    def __repr__(self):
        return f'OpNode({self.op.__name__}, inputs={len(self.inputs or ())})'


def _ops_upstream(node, every_op=False):
    """The set of op nodes upstream of node, found with a stack, not recursion, so no chain is too long.

    Ops whose outputs need no gradient are left out unless every_op.
    """
    found, stack = set(), [node.source] if node.source is not None else []
    while stack:
        op_node = stack.pop()
        if op_node not in found:
            found.add(op_node)
            for parent in op_node.inputs:
                if parent.source is not None and (every_op or parent.requires_grad):
                    stack.append(parent.source)
    return found


class Op:
    """An operation: static forward and backward on raw arrays; never instantiated.

    forward(context, *inputs, **constants) -> output array (or a tuple of them); it may store in the dict
    `context` what backward needs. backward(context, *output_grads) -> the gradient with respect to each
    input (a tuple when there are several), each of its input's shape. context['needs_input_grad'] tells
    which inputs want one, so that backward can skip the others (it may return None for them).
    """

    @staticmethod
    def forward(context, *inputs, **constants):
        raise NotImplementedError

    @staticmethod
    def backward(context, *output_grads):
        raise NotImplementedError

    @classmethod
    def do_forward(cls, *inputs, **constants):
        """Apply the op to TensorNodes: compute the outputs now and link them into the graph."""
        for node in inputs:
            _check_node(cls.__name__, node)
        context = {'needs_input_grad': tuple(node.requires_grad for node in inputs)}
        outputs = cls.forward(context, *(node.value for node in inputs), **constants)
        requires_grad = any(context['needs_input_grad'])
        op_node = OpNode(cls, context, inputs)
        if isinstance(outputs, tuple):
            op_node.outputs = [TensorNode(value, op_node, requires_grad=requires_grad) for value in outputs]
            return tuple(op_node.outputs)
        op_node.outputs = [TensorNode(outputs, op_node, requires_grad=requires_grad)]
        return op_node.outputs[0]


def _check_node(name, node):
    if not isinstance(node, TensorNode):
        raise TypeError(f'{name} expects TensorNode inputs, got {type(node).__name__}; '
                        f'wrap arrays in TensorNode(value, requires_grad=False)')


def _same_shape(op, a, b):
    if a.shape != b.shape:
        raise ValueError(f'{op} expects inputs of one shape (nothing broadcasts; use Expand), '
                         f'got {a.shape} and {b.shape}')


def _matrix(op, x):
    if x.ndim != 2:
        raise ValueError(f'{op} expects a matrix (rows, columns), got shape {x.shape}')


def _axis(op, x, dim, singleton=False):
    if not -x.ndim <= dim < x.ndim or (singleton and x.shape[dim] != 1):
        raise ValueError(f'{op} expects dim to name {"a dimension of size 1" if singleton else "a dimension"}'
                         f' of the input, got dim={dim} for shape {x.shape}')


class Add(Op):
    """a + b, element-wise."""

    @staticmethod
    def forward(context, a, b):
        _same_shape('Add', a, b)
        return a + b

    @staticmethod
    def backward(context, grad):
        return grad, grad


class Subtract(Op):
    """a - b, element-wise."""

    @staticmethod
    def forward(context, a, b):
        _same_shape('Subtract', a, b)
        return a - b

    @staticmethod
    def backward(context, grad):
        return grad, -grad


Sub = Subtract  # vugrad's name


class Multiply(Op):
    """a * b, element-wise."""

    @staticmethod
    def forward(context, a, b):
        _same_shape('Multiply', a, b)
        context['a'], context['b'] = a, b
        return a * b

    @staticmethod
    def backward(context, grad):
        return grad * context['b'], grad * context['a']


class Divide(Op):
    """a / b, element-wise: dL/da = G / b, dL/db = -G a / b^2."""

    @staticmethod
    def forward(context, a, b):
        _same_shape('Divide', a, b)
        context['a'], context['b'] = a, b
        return a / b

    @staticmethod
    def backward(context, grad):
        a, b = context['a'], context['b']
        grad_a = grad / b
        return grad_a, -grad_a * a / b


class MatrixMultiply(Op):
    """a @ b for a (n, m) and b (m, p): dL/da = G b^T, dL/db = a^T G."""

    @staticmethod
    def forward(context, a, b):
        _matrix('MatrixMultiply', a)
        _matrix('MatrixMultiply', b)
        if a.shape[1] != b.shape[0]:
            raise ValueError(f'MatrixMultiply expects (n, m) and (m, p), got {a.shape} and {b.shape}')
        context['a'], context['b'] = a, b
        return a @ b

    @staticmethod
    def backward(context, grad):
        # A first layer's input is data, whose gradient would cost a third of the layer's backward for nothing.
        # Transposing the last two axes serves BatchMM's batches of matrices too.
        needs_a, needs_b = context['needs_input_grad']
        return (grad @ np.swapaxes(context['b'], -1, -2) if needs_a else None,
                np.swapaxes(context['a'], -1, -2) @ grad if needs_b else None)


class BatchMM(MatrixMultiply):
    """A batch of matrix products: a (b, n, m) @ b (b, m, p) -> (b, n, p); dL/da = G b^T, dL/db = a^T G per matrix
    (MatrixMultiply's backward)."""

    @staticmethod
    def forward(context, a, b):
        if a.ndim != 3 or b.ndim != 3 or a.shape[0] != b.shape[0] or a.shape[2] != b.shape[1]:
            raise ValueError(f'BatchMM expects (b, n, m) and (b, m, p), got {a.shape} and {b.shape}')
        context['a'], context['b'] = a, b
        return a @ b


class Id(Op):
    """The identity: y = x."""

    @staticmethod
    def forward(context, x):
        return x.copy()  # a new array, as every other op's output is

    @staticmethod
    def backward(context, grad):
        return grad


class RowSum(Op):
    """The sum of each row of a matrix: x (n, m) -> (n,)."""

    @staticmethod
    def forward(context, x):
        _matrix('RowSum', x)
        context['columns'] = x.shape[1]
        return x.sum(axis=1)

    @staticmethod
    def backward(context, grad):
        return np.repeat(grad[:, None], context['columns'], axis=1)


class RowMax(Op):
    """The largest element of each row of a matrix: x (n, m) -> (n,). The gradient goes to the first largest
    element of a row (a subgradient where several tie)."""

    @staticmethod
    def forward(context, x):
        _matrix('RowMax', x)
        at = (np.arange(len(x)), x.argmax(axis=1))
        context['shape'], context['at'] = x.shape, at
        return x[at]

    @staticmethod
    def backward(context, grad):
        grad_x = np.zeros(context['shape'], grad.dtype)
        grad_x[context['at']] = grad
        return grad_x


class Sum(Op):
    """The sum of all elements: a scalar (shape ())."""

    @staticmethod
    def forward(context, x):
        context['shape'] = x.shape
        return x.sum()

    @staticmethod
    def backward(context, grad):
        return np.full(context['shape'], grad)


class Expand(Op):
    """Repeat a dimension of size 1 `repeats` times: (n, 1) -> (n, repeats) for dim=1."""

    @staticmethod
    def forward(context, x, *, dim, repeats):
        _axis('Expand', x, dim, singleton=True)
        if not isinstance(repeats, (int, np.integer)) or repeats < 1:
            raise ValueError(f'Expand expects a positive integer number of repeats, got {repeats!r}')
        context['dim'] = dim
        return np.repeat(x, repeats, axis=dim)

    @staticmethod
    def backward(context, grad):
        return grad.sum(axis=context['dim'], keepdims=True)


class Normalize(Op):
    """Scale each row of a matrix to sum to one: y_ij = x_ij / s_i with s_i = sum_k x_ik.

    dL/dx_ij = G_ij / s_i - sum_k G_ik x_ik / s_i^2 (derived in the report, VU question 8).
    """

    @staticmethod
    def forward(context, x):
        _matrix('Normalize', x)
        row_sums = x.sum(axis=1, keepdims=True)
        context['x'], context['row_sums'] = x, row_sums
        return x / row_sums

    @staticmethod
    def backward(context, grad):
        x, row_sums = context['x'], context['row_sums']
        return grad / row_sums - (grad * x).sum(axis=1, keepdims=True) / (row_sums * row_sums)


class Select(Op):
    """One element per row of a matrix: y_i = x[i, indices[i]]; x (n, k), indices n integers in [0, k)."""

    @staticmethod
    def forward(context, x, *, indices):
        _matrix('Select', x)
        indices = np.asarray(indices)
        if indices.shape != (len(x),) or not np.issubdtype(indices.dtype, np.integer):
            raise ValueError(f'Select expects {len(x)} integer indices, got {indices.dtype} of shape {indices.shape}')
        outside = np.flatnonzero((indices < 0) | (indices >= x.shape[1]))
        if len(outside):
            raise ValueError(f'Select expects indices in [0, {x.shape[1]}), got {indices[outside[0]]} '
                             f'at row {outside[0]}')
        rows = np.arange(len(x))
        context['shape'], context['at'] = x.shape, (rows, indices)
        return x[rows, indices]

    @staticmethod
    def backward(context, grad):
        grad_x = np.zeros(context['shape'], grad.dtype)
        grad_x[context['at']] = grad
        return grad_x


class Squeeze(Op):
    """Remove a dimension of size 1."""

    @staticmethod
    def forward(context, x, *, dim):
        _axis('Squeeze', x, dim, singleton=True)
        context['dim'] = dim
        return np.squeeze(x, axis=dim)

    @staticmethod
    def backward(context, grad):
        return np.expand_dims(grad, context['dim'])


class Unsqueeze(Op):
    """Insert a dimension of size 1 at position dim."""

    @staticmethod
    def forward(context, x, *, dim):
        if not -x.ndim - 1 <= dim <= x.ndim:
            raise ValueError(f'Unsqueeze expects dim in [{-x.ndim - 1}, {x.ndim}] for shape {x.shape}, got {dim}')
        context['dim'] = dim
        return np.expand_dims(x, dim)

    @staticmethod
    def backward(context, grad):
        return np.squeeze(grad, axis=context['dim'])


class Exp(Op):
    """e^x, element-wise."""

    @staticmethod
    def forward(context, x):
        context['out'] = np.exp(x)
        return context['out']

    @staticmethod
    def backward(context, grad):
        return grad * context['out']


class Log(Op):
    """The natural logarithm, element-wise."""

    @staticmethod
    def forward(context, x):
        context['x'] = x
        return np.log(x)

    @staticmethod
    def backward(context, grad):
        return grad / context['x']


class Sigmoid(Op):
    """1 / (1 + e^-x), element-wise."""

    @staticmethod
    def forward(context, x):
        # The tanh form never overflows, unlike exp(-x) for very negative x.
        context['out'] = 0.5 * (1 + np.tanh(0.5 * x))
        return context['out']

    @staticmethod
    def backward(context, grad):
        out = context['out']
        return grad * out * (1 - out)


class ReLU(Op):
    """max(x, 0), element-wise (VU question 9); the gradient at 0 is taken as 0."""

    @staticmethod
    def forward(context, x):
        context['positive'] = x > 0
        return np.maximum(x, 0)

    @staticmethod
    def backward(context, grad):
        return grad * context['positive']


class LogSoftmax(Op):
    """Row-wise log-softmax of a matrix: y_ij = x_ij - log sum_k e^x_ik; dL/dx = G - softmax(x) * rowsum(G)."""

    @staticmethod
    def forward(context, x):
        _matrix('LogSoftmax', x)
        # Subtracting the row maximum keeps exp from overflowing; the result is unchanged.
        shifted = x - x.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        row_sums = exp.sum(axis=1, keepdims=True)
        context['softmax'] = exp / row_sums
        return shifted - np.log(row_sums)

    @staticmethod
    def backward(context, grad):
        return grad - context['softmax'] * grad.sum(axis=1, keepdims=True)


def celoss(probabilities, targets):
    """Cross-entropy of probabilities (n, classes) for integer targets (n,): -(1/n) sum_i log p[i, t_i].

    The mean over the batch, as the rest of this project (VU's vugrad sums instead: the same gradient
    times n). A probability that underflows to 0 gives an infinite loss: prefer logceloss on LogSoftmax.
    """
    return _negative_mean(Log.do_forward(Select.do_forward(probabilities, indices=targets)))


def logceloss(log_probabilities, targets):
    """Cross-entropy from log-probabilities (n, classes) for integer targets (n,): -(1/n) sum_i y[i, t_i]."""
    return _negative_mean(Select.do_forward(log_probabilities, indices=targets))


def _negative_mean(per_sample):
    dtype = per_sample.value.dtype
    return Sum.do_forward(per_sample) * TensorNode(np.asarray(-1 / len(per_sample.value), dtype),
                                                   requires_grad=False)


class Module:
    """A function with parameters. Calling it calls forward; parameters() lists its TensorNode attributes
    and, in order, those of its sub-modules (attributes, or lists of them)."""

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def forward(self, *args, **kwargs):
        raise NotImplementedError

    def parameters(self):
        found = []
        for value in vars(self).values():
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, TensorNode):
                    found.append(item)
                elif isinstance(item, Module):
                    found += item.parameters()
        return found


class Linear(Module):
    """y = x W + b for x (n, in_features): weight (in_features, out_features), bias (1, out_features).

    The weight is stored as the layer's product uses it, the transpose of torch.nn.Linear's and of
    modules.LinearModule's. Glorot initialisation, N(0, 2 / (in + out)); the bias starts at 0.
    """

    def __init__(self, in_features, out_features, rng=None, dtype=np.float32):
        rng = np.random.default_rng() if rng is None else rng
        self.in_features, self.out_features = in_features, out_features
        std = np.sqrt(2 / (in_features + out_features))
        self.weight = TensorNode((std * rng.standard_normal((in_features, out_features))).astype(dtype))
        self.bias = TensorNode(np.zeros((1, out_features), dtype))

    def forward(self, x):
        _check_node('Linear', x)
        if len(x.shape) != 2 or x.shape[1] != self.in_features:
            raise ValueError(f'Linear expected input of shape (batch, {self.in_features}), got {x.shape}')
        return x @ self.weight + Expand.do_forward(self.bias, dim=0, repeats=x.shape[0])

    def __repr__(self):
        return f'Linear(in_features={self.in_features}, out_features={self.out_features})'


ACTIVATIONS = {'sigmoid': Sigmoid, 'relu': ReLU}


class MLP(Module):
    """Linear layers with `activation` between them and LogSoftmax at the end: x (n, n_inputs) -> (n, n_classes)
    log-probabilities; train it with logceloss. n_hidden lists the hidden widths (empty: logistic regression).
    The seed alone fixes the weights, whatever the activation."""

    def __init__(self, n_inputs, n_hidden, n_classes, activation='sigmoid', seed=None, dtype=np.float32):
        if not isinstance(n_hidden, (list, tuple)):
            raise TypeError(f'n_hidden must be a list of hidden widths such as [8] (or [] for none), got {n_hidden!r}')
        widths = [n_inputs, *n_hidden, n_classes]
        if any(not isinstance(width, (int, np.integer)) or width < 1 for width in widths):
            raise ValueError(f'layer widths must be positive integers, got {widths}')
        if activation not in ACTIVATIONS:
            raise ValueError(f'activation must be one of {tuple(ACTIVATIONS)}, got {activation!r}')
        self.activation = activation
        rng = np.random.default_rng(seed)
        self.layers = [Linear(fan_in, fan_out, rng, dtype) for fan_in, fan_out in zip(widths[:-1], widths[1:])]

    def forward(self, x):
        for layer in self.layers[:-1]:
            x = ACTIVATIONS[self.activation].do_forward(layer(x))
        return LogSoftmax.do_forward(self.layers[-1](x))

    def __repr__(self):
        return f'MLP({" -> ".join(map(repr, self.layers))}, activation={self.activation!r})'
