"""The report's closed-form gradients that no module computes, against torch autograd in float64.

BGU question 1 (index notation) and the VU operations: element-wise division, matrix product, expand.
"""
import torch

GENERATOR = torch.Generator().manual_seed(0)  # a private stream: importing this file leaves torch's global seed alone


def grads(function, *inputs):
    """Gradients of the scalar function(*inputs) with respect to every input, by autograd."""
    inputs = [x.clone().requires_grad_() for x in inputs]
    return torch.autograd.grad(function(*inputs), inputs)


def randn(*shape):
    return torch.randn(*shape, dtype=torch.float64, generator=GENERATOR)


def test_quadratic_form():
    x, B = randn(5), randn(5, 5)
    (dx,) = grads(lambda x: x @ B @ x, x)
    torch.testing.assert_close(dx, (B + B.T) @ x)


def test_trace_of_a_product():
    V, X, W = randn(4, 3), randn(3, 6), randn(6, 4)   # X is m x p with m = 3, p = 6
    (dX,) = grads(lambda X: torch.trace(V @ X @ W), X)
    torch.testing.assert_close(dX, V.T @ W.T)


def test_norm():
    w = randn(7)
    (dw,) = grads(torch.linalg.vector_norm, w)
    torch.testing.assert_close(dw, w / w.norm())


def test_trace():
    S = randn(5, 5)
    (dS,) = grads(torch.trace, S)
    torch.testing.assert_close(dS, torch.eye(5, dtype=torch.float64))


def upstream(shape):
    """A fixed G = dL/dZ: L = sum(G * Z) has exactly that gradient at Z."""
    G = randn(*shape)
    return G, lambda Z: (G * Z).sum()


def test_elementwise_division():
    X, Y = randn(3, 4), randn(3, 4).abs() + 0.5
    G, loss = upstream((3, 4))
    dX, dY = grads(lambda X, Y: loss(X / Y), X, Y)
    torch.testing.assert_close(dX, G / Y)
    torch.testing.assert_close(dY, -G * X / (Y * Y))
    torch.testing.assert_close(dY, -G * (X / Y) / Y)


def test_matrix_product():
    X, Y = randn(3, 5), randn(5, 2)
    G, loss = upstream((3, 2))
    dX, dY = grads(lambda X, Y: loss(X @ Y), X, Y)
    torch.testing.assert_close(dX, G @ Y.T)
    torch.testing.assert_close(dY, X.T @ G)


def test_expand_into_16_columns():
    x = randn(6)
    G, loss = upstream((6, 16))
    (dx,) = grads(lambda x: loss(x[:, None].expand(6, 16)), x)
    torch.testing.assert_close(dx, G @ torch.ones(16, dtype=torch.float64))
