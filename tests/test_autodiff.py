"""The autodiff engine: every op's backward against central differences and torch autograd (float64), the
graph's semantics (sharing, order, long chains, zero_grad, clear, memory), its errors, and its MLP against
mlp_numpy's."""
import gc

import numpy as np
import pytest
import torch

import autodiff
from autodiff import (
    MLP,
    Add,
    Divide,
    Exp,
    Expand,
    Linear,
    LogSoftmax,
    MatrixMultiply,
    Multiply,
    Normalize,
    Op,
    OpNode,
    ReLU,
    Select,
    Sigmoid,
    Sum,
    TensorNode,
    celoss,
    logceloss,
)
from gradient_check import numerical_gradient, spy_on_backward

POSITIVE_INPUTS = {'Log', 'Normalize'}


def op_cases(n, m):
    """{op name: (input shapes, constants, the same function in torch)} for inputs of n rows and m columns."""
    indices = np.arange(n) % m
    return {
        'Add': ([(n, m), (n, m)], {}, torch.add),
        'Subtract': ([(n, m), (n, m)], {}, torch.sub),
        'Multiply': ([(n, m), (n, m)], {}, torch.mul),
        'Divide': ([(n, m), (n, m)], {}, torch.div),
        'MatrixMultiply': ([(n, m), (m, 2)], {}, torch.matmul),
        'Sum': ([(n, m)], {}, torch.sum),
        'Expand': ([(n, 1)], {'dim': 1, 'repeats': m}, lambda x: x.expand(n, m)),
        'Normalize': ([(n, m)], {}, lambda x: x / x.sum(dim=1, keepdim=True)),
        'Select': ([(n, m)], {'indices': indices}, lambda x: x[torch.arange(n), torch.from_numpy(indices)]),
        'Squeeze': ([(n, 1)], {'dim': 1}, lambda x: x.squeeze(1)),
        'Unsqueeze': ([(n, m)], {'dim': 0}, lambda x: x.unsqueeze(0)),
        'Exp': ([(n, m)], {}, torch.exp),
        'Log': ([(n, m)], {}, torch.log),
        'Sigmoid': ([(n, m)], {}, torch.sigmoid),
        'ReLU': ([(n, m)], {}, torch.relu),
        'LogSoftmax': ([(n, m)], {}, lambda x: torch.log_softmax(x, dim=1)),
        'BatchMM': ([(2, n, m), (2, m, 2)], {}, torch.bmm),
        'Id': ([(n, m)], {}, lambda x: x.clone()),
        'RowSum': ([(n, m)], {}, lambda x: x.sum(dim=1)),
        'RowMax': ([(n, m)], {}, lambda x: x.max(dim=1).values),
    }


SHAPES = [(3, 4), (1, 4), (3, 1)]  # a matrix, one row, one column


@pytest.mark.parametrize('n,m', SHAPES)
@pytest.mark.parametrize('name', op_cases(3, 4))
def test_op_backward_matches_finite_differences_and_torch(name, n, m):
    shapes, constants, torch_function = op_cases(n, m)[name]
    rng = np.random.default_rng(0)
    # Magnitudes in [0.5, 2] keep central differences away from ReLU's kink and divisions away from 0.
    values = [rng.uniform(0.5, 2, shape) * (1 if name in POSITIVE_INPUTS else rng.choice([-1, 1], shape))
              for shape in shapes]
    op = getattr(autodiff, name)
    nodes = [TensorNode(value.copy()) for value in values]
    out = op.do_forward(*nodes, **constants)
    upstream = rng.standard_normal(out.shape)
    out.grad = upstream.copy()
    out.source.backward()

    tensors = [torch.tensor(value, requires_grad=True) for value in values]
    torch_out = torch_function(*tensors)
    np.testing.assert_allclose(out.value, torch_out.detach().numpy(), rtol=1e-12, atol=1e-14)
    torch_out.backward(torch.tensor(upstream))
    for i, (node, tensor) in enumerate(zip(nodes, tensors)):
        numeric = numerical_gradient(lambda: (op.forward({}, *values, **constants) * upstream).sum(), values[i])
        assert node.grad.shape == node.value.shape and node.grad.dtype == np.float64
        np.testing.assert_allclose(node.grad, numeric, rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(node.grad, tensor.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_question_5_what_an_addition_leaves_behind():
    a, b = TensorNode(np.array([[1.0, 2.0]])), TensorNode(np.array([[10.0, 20.0]]))
    c = a + b
    np.testing.assert_array_equal(c.value, [[11.0, 22.0]])      # computed at once, not when asked for
    assert isinstance(c.source, OpNode) and c.source.op is Add   # the op node that made c
    assert c.source.inputs[0] is a and c.source.outputs == [c]   # so inputs[0].value is a's value
    np.testing.assert_array_equal(a.grad, np.zeros((1, 2)))      # nothing has been backpropagated yet
    assert a.source is None


def test_diamond_and_reuse_match_torch():
    """x feeds two ops that meet again, and is used twice by one op: its gradient is the sum over all uses."""
    rng = np.random.default_rng(1)
    x_value, w_value = rng.standard_normal((3, 3)), rng.standard_normal((3, 3))
    x, w = TensorNode(x_value), TensorNode(w_value)
    top, bottom = Sigmoid.do_forward(x @ w), Exp.do_forward(x)
    loss = Sum.do_forward(top * bottom + x * x + x @ x)
    loss.backward()

    xt, wt = (torch.tensor(value, requires_grad=True) for value in (x_value, w_value))
    (torch.sigmoid(xt @ wt) * torch.exp(xt) + xt * xt + xt @ xt).sum().backward()
    np.testing.assert_allclose(x.grad, xt.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(w.grad, wt.grad.numpy(), rtol=1e-12)


def test_each_op_backward_runs_once_after_all_its_consumers():
    calls = []

    class Recorded(Op):
        @staticmethod
        def forward(context, x, *, name):
            context['name'] = name
            return x.copy()

        @staticmethod
        def backward(context, grad):
            calls.append((context['name'], grad.copy()))
            return grad

    x = TensorNode(np.ones(2))
    shared = Recorded.do_forward(x, name='shared')
    loss = Sum.do_forward(Recorded.do_forward(shared, name='left') + Recorded.do_forward(shared, name='right'))
    loss.backward()
    assert sorted(name for name, _ in calls[:2]) == ['left', 'right'] and calls[2][0] == 'shared'
    np.testing.assert_array_equal(calls[2][1], [2.0, 2.0])  # both consumers' gradients had arrived
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])


def test_a_chain_of_ten_thousand_ops_needs_no_recursion():
    x = TensorNode(np.array([1.0, 2.0]))
    y = x
    for _ in range(10_000):
        y = y + x
    Sum.do_forward(y).backward()
    np.testing.assert_array_equal(x.grad, [10_001.0, 10_001.0])


def test_a_second_backward_adds_one_more_gradient_to_the_leaves_only():
    x = TensorNode(np.array([1.0, 2.0]))
    y = x * x
    loss = Sum.do_forward(y)
    loss.backward()
    loss.backward()
    np.testing.assert_array_equal(x.grad, 2 * (2 * x.value))
    np.testing.assert_array_equal(y.grad, [1.0, 1.0])


def test_zero_grad_zeroes_the_whole_graph_and_clear_keeps_the_parameters():
    model = MLP(2, [3], 2, seed=0, dtype=np.float64)
    data = TensorNode(np.ones((4, 2)), requires_grad=False)
    out = model(data)
    loss = logceloss(out, np.array([0, 1, 1, 0]))
    loss.backward()
    assert all(np.abs(p.grad).sum() > 0 for p in model.parameters()) and np.abs(out.grad).sum() > 0
    assert data.grad is None  # data asks for no gradient, so none was computed
    loss.zero_grad()
    assert all(not p.grad.any() for p in model.parameters()) and not out.grad.any() and not loss.grad.any()

    values = [p.value.copy() for p in model.parameters()]
    loss.backward()
    grads = [p.grad.copy() for p in model.parameters()]
    loss.clear()
    assert loss.source is None and out.source is None
    for parameter, value, grad in zip(model.parameters(), values, grads):
        np.testing.assert_array_equal(parameter.value, value)
        np.testing.assert_array_equal(parameter.grad, grad)
    loss.zero_grad()  # after clear(), too late: it reaches only the loss
    np.testing.assert_array_equal(model.parameters()[0].grad, grads[0])

    for parameter in model.parameters():
        parameter.grad.fill(0)
    new_loss = logceloss(model(data), np.array([0, 1, 1, 0]))
    new_loss.backward()  # the model still works, and a new graph reaches the parameters
    for parameter, grad in zip(model.parameters(), grads):
        np.testing.assert_allclose(parameter.grad, grad)


def test_clear_also_cuts_the_parts_of_the_graph_that_need_no_gradient():
    data = TensorNode(np.ones((2, 2)), requires_grad=False)
    squared = data * data  # computed from data alone: backward never visits it, clear() must
    w = TensorNode(np.ones((2, 2)))
    loss = Sum.do_forward(squared * w)
    loss.backward()
    loss.clear()
    assert squared.source is None and loss.source is None


def count_tensor_nodes():
    return sum(type(obj) is TensorNode for obj in gc.get_objects())


def test_cleared_graphs_are_freed_without_the_cycle_collector():
    """With the cycle collector off, only reference counting frees memory: a graph that clear() did not cut
    stays alive (output and source point at each other), and a training loop that clears must not grow."""
    rng = np.random.default_rng(0)
    model = MLP(2, [8], 2, seed=0)
    x, labels = rng.standard_normal((32, 2)).astype(np.float32), rng.integers(2, size=32)

    def step(clear):
        loss = logceloss(model(TensorNode(x, requires_grad=False)), labels)
        loss.backward()
        for parameter in model.parameters():
            parameter.value -= 0.1 * parameter.grad
        loss.zero_grad()
        if clear:
            loss.clear()

    gc.collect()
    gc.disable()
    try:
        before = count_tensor_nodes()
        for _ in range(10):
            step(clear=False)
        assert count_tensor_nodes() > before + 100  # the check can see leaked graphs
        gc.collect()
        for _ in range(100):
            step(clear=True)
        after_100 = count_tensor_nodes()
        for _ in range(900):
            step(clear=True)
        assert count_tensor_nodes() == after_100
    finally:
        gc.enable()


def test_ops_with_several_outputs():
    class Split(Op):
        """The two halves of a vector."""

        @staticmethod
        def forward(context, x):
            half = len(x) // 2
            return x[:half].copy(), x[half:].copy()

        @staticmethod
        def backward(context, grad_first, grad_second):
            return np.concatenate([grad_first, grad_second])

    x = TensorNode(np.arange(4.0))
    first, second = Split.do_forward(x)
    assert x is first.source.inputs[0] and first.source.outputs == [first, second]
    Sum.do_forward(first * first + second).backward()
    np.testing.assert_array_equal(x.grad, [0.0, 2.0, 1.0, 1.0])


def test_float32_stays_float32():
    model = MLP(5, [4], 3, seed=0)
    loss = logceloss(model(TensorNode(np.ones((2, 5), np.float32), requires_grad=False)), np.array([0, 2]))
    loss.backward()
    assert loss.value.dtype == np.float32
    assert all(p.value.dtype == p.grad.dtype == np.float32 for p in model.parameters())


def test_integer_values_become_float64():
    assert TensorNode(np.array([1, 2])).value.dtype == np.float64


@pytest.mark.parametrize('make,error,message', [
    (lambda: TensorNode(np.ones((2, 3))) + TensorNode(np.ones((3, 2))), ValueError, r'\(2, 3\) and \(3, 2\)'),
    (lambda: TensorNode(np.ones((2, 3))) @ TensorNode(np.ones((2, 3))), ValueError, r'\(n, m\) and \(m, p\)'),
    (lambda: TensorNode(np.ones(3)) @ TensorNode(np.ones(3)), ValueError, 'expects a matrix'),
    (lambda: TensorNode(np.ones(3)) + np.ones(3), TypeError, 'expects TensorNode inputs, got ndarray'),
    (lambda: np.ones(3) * TensorNode(np.ones(3)), TypeError, 'expects TensorNode inputs, got ndarray'),
    (lambda: TensorNode(np.ones(3)) * 2.0, TypeError, 'expects TensorNode inputs, got float'),
    (lambda: Sigmoid.do_forward(np.ones(3)), TypeError, 'expects TensorNode inputs'),
    (lambda: TensorNode(np.ones((2, 2))).backward(), ValueError, 'scalar node'),
    (lambda: Sum.do_forward(TensorNode(np.ones(2), requires_grad=False)).backward(), ValueError, 'no gradient'),
    (lambda: Expand.do_forward(TensorNode(np.ones((2, 3))), dim=1, repeats=4), ValueError, 'dimension of size 1'),
    (lambda: Select.do_forward(TensorNode(np.ones((2, 3))), indices=np.array([0, 3])), ValueError,
     r'indices in \[0, 3\), got 3 at row 1'),
    (lambda: Select.do_forward(TensorNode(np.ones((2, 3))), indices=np.array([-1, 0])), ValueError, 'got -1 at row 0'),
    (lambda: Expand.do_forward(TensorNode(np.ones((2, 1))), dim=1, repeats=2.5), ValueError, 'positive integer'),
    (lambda: Expand.do_forward(TensorNode(np.ones((2, 1))), dim=1, repeats=0), ValueError, 'positive integer'),
    (lambda: Select.do_forward(TensorNode(np.ones((2, 3))), indices=np.array([0.0, 1.0])), ValueError, 'integer'),
    (lambda: Linear(3, 2)(TensorNode(np.ones((4, 5)))), ValueError, r'\(batch, 3\)'),
    (lambda: Linear(3, 2)(np.ones((4, 3))), TypeError, 'expects TensorNode inputs'),
    (lambda: MLP(3, [0], 2), ValueError, 'positive integers'),
    (lambda: MLP(3, [4.0], 2), ValueError, 'positive integers'),
    (lambda: MLP(3, 4, 2), TypeError, 'list of hidden widths'),
    (lambda: MLP(3, [4], 2, activation='tanh'), ValueError, "'sigmoid', 'relu'"),
])
def test_wrong_input_names_what_was_expected(make, error, message):
    with pytest.raises(error, match=message):
        make()


class Pair(Op):
    """a + b, with a backward that a test can break."""
    broken = None

    @staticmethod
    def forward(context, a, b):
        return a + b

    @staticmethod
    def backward(context, grad):
        return {'shape': (grad.sum(axis=1), grad), 'count': (grad,), 'none': (grad, None)}[Pair.broken]


@pytest.mark.parametrize('broken,message', [
    ('shape', r'Pair.backward returned a gradient of shape \(2,\) for input 0 of shape \(2, 3\)'),
    ('count', 'Pair.backward returned 1 gradients for 2 inputs'),
    ('none', 'Pair.backward returned None for input 1, which requires a gradient'),
])
def test_a_wrong_backward_is_caught(broken, message, monkeypatch):
    """A student's op whose backward returns a wrong shape, too few gradients or None fails with what went wrong."""
    monkeypatch.setattr(Pair, 'broken', broken)
    loss = Sum.do_forward(Pair.do_forward(TensorNode(np.ones((2, 3))), TensorNode(np.ones((2, 3)))))
    with pytest.raises(ValueError, match=message):
        loss.backward()


@pytest.mark.parametrize('n_hidden', [[], [6], [6, 5]])
@pytest.mark.parametrize('activation', ['sigmoid', 'relu'])
def test_mlp_matches_mlp_numpy(activation, n_hidden):
    """Same weights, same batch: the same loss and the same parameter gradients (the NumPy MLP stores W^T)."""
    from mlp_numpy import MLP as NumpyMLP
    from modules import CrossEntropyModule

    rng = np.random.default_rng(2)
    x, labels = rng.standard_normal((7, 4)), rng.integers(3, size=7)
    reference = NumpyMLP(4, n_hidden, 3, neg_slope=0, init='kaiming', seed=3, dtype=np.float64,
                         activation='sigmoid' if activation == 'sigmoid' else 'leaky_relu')
    model = MLP(4, n_hidden, 3, activation=activation, dtype=np.float64)
    for layer, (params, _) in zip(model.layers, reference.parameters()):
        params['bias'] = rng.standard_normal(params['bias'].shape)
        layer.weight.value, layer.bias.value = params['weight'].T.copy(), params['bias'][None].copy()

    one_hot = np.eye(3)[labels]
    probabilities = reference.forward(x)
    reference_loss = CrossEntropyModule().forward(probabilities, one_hot)
    reference.backward(CrossEntropyModule().backward(probabilities, one_hot))
    loss = logceloss(model(TensorNode(x, requires_grad=False)), labels)
    loss.backward()
    assert abs(loss.value - reference_loss) < 1e-10
    for layer, (_, grads) in zip(model.layers, reference.parameters()):
        np.testing.assert_allclose(layer.weight.grad, grads['weight'].T, rtol=0, atol=1e-10)
        np.testing.assert_allclose(layer.bias.grad[0], grads['bias'], rtol=0, atol=1e-10)


def test_losses_match_torch_cross_entropy():
    rng = np.random.default_rng(4)
    logits, labels = rng.standard_normal((5, 4)), rng.integers(4, size=5)
    logits_torch = torch.tensor(logits, requires_grad=True)
    expected = torch.nn.functional.cross_entropy(logits_torch, torch.tensor(labels))
    expected.backward()
    for loss_function, output in ((logceloss, LogSoftmax.do_forward),
                                  (celoss, lambda x: Normalize.do_forward(Exp.do_forward(x)))):
        x = TensorNode(logits)
        loss = loss_function(output(x), labels)
        loss.backward()
        assert abs(loss.value - expected.item()) < 1e-12
        np.testing.assert_allclose(x.grad, logits_torch.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_log_softmax_is_stable_for_huge_logits():
    x = TensorNode(np.array([[1000.0, 0.0, -1000.0]]))
    out = LogSoftmax.do_forward(x)
    np.testing.assert_allclose(out.value, [[0.0, -1000.0, -2000.0]])
    logceloss(out, np.array([1])).backward()
    np.testing.assert_allclose(x.grad, [[1.0, -1.0, 0.0]])


def test_module_parameters_and_repr():
    model = MLP(2, [3], 4, seed=0)
    shapes = [p.shape for p in model.parameters()]
    assert shapes == [(2, 3), (1, 3), (3, 4), (1, 4)]
    assert repr(model) == ("MLP(Linear(in_features=2, out_features=3) -> Linear(in_features=3, out_features=4), "
                           "activation='sigmoid')")
    assert [p.value for p in MLP(2, [3], 4, activation='relu', seed=0).parameters()][0].tolist() == \
        model.parameters()[0].value.tolist()  # the seed alone fixes the weights


def test_linear_initialisation_and_relu_gradient_at_zero():
    layer = Linear(400, 600, rng=np.random.default_rng(0), dtype=np.float64)
    assert abs(layer.weight.value.std() - np.sqrt(2 / 1000)) < 0.02 * np.sqrt(2 / 1000)
    assert not layer.bias.value.any()
    x = TensorNode(np.array([-1.0, 0.0, 2.0]))
    Sum.do_forward(ReLU.do_forward(x)).backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0, 1.0])


def test_matrix_multiply_skips_the_gradient_nobody_wants(monkeypatch):
    returned = spy_on_backward(monkeypatch, MatrixMultiply)
    x = TensorNode(np.ones((2, 3)), requires_grad=False)
    w = TensorNode(np.ones((3, 4)))
    Sum.do_forward(x @ w).backward()
    assert returned[0][0] is None
    np.testing.assert_array_equal(w.grad, np.full((3, 4), 2.0))
    assert Divide.do_forward(TensorNode(np.ones(2)), TensorNode(np.ones(2))).requires_grad
    assert not Multiply.do_forward(x, x).requires_grad


def test_vugrads_names_are_served():
    node = TensorNode(np.ones((2, 3)), name='x')
    assert node.size() == (2, 3) and node.name == 'x' and "name='x'" in repr(node) and node.source is None
    assert autodiff.Sub is autodiff.Subtract and (node - node).source.op is autodiff.Sub
    with pytest.raises(ValueError, match=r'BatchMM expects \(b, n, m\) and \(b, m, p\), got \(2, 3\) and'):
        autodiff.BatchMM.do_forward(node, node)
    with pytest.raises(ValueError, match='RowMax expects a matrix'):
        autodiff.RowMax.do_forward(TensorNode(np.ones(3)))


def test_load_synth_gives_vugrads_tuple_of_the_synth_points():
    import vu_data
    (x_train, y_train), (x_val, y_val), classes = vu_data.load_synth(num_train=500, num_val=200)
    splits = vu_data.get_synth(num_train=500, validation_size=200, num_test=0, one_hot=False)
    assert classes == 2 and x_train.shape == (500, 2) and y_val.shape == (200,)
    np.testing.assert_array_equal(x_train, splits['train'].images)
    np.testing.assert_array_equal(y_val, splits['validation'].labels)


def test_a_positional_requires_grad_is_refused_rather_than_taken_for_a_name():
    with pytest.raises(TypeError, match='name must be a string or None, got False; pass requires_grad= by name'):
        TensorNode(np.ones(2), None, False)
