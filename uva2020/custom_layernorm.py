"""Layer normalisation written by hand in PyTorch, in the three forms of custom_batchnorm.py.

Layer normalisation (Ba, Kiros & Hinton, 2016) normalises each sample over its own features, so it needs no
batch statistics and behaves the same in training and in eval mode:

    mu      = mean(x_i)                    over the C features of sample i
    var     = mean((x_i - mu) ** 2)        biased: no Bessel correction
    x_hat   = (x_i - mu) / sqrt(var + eps)
    y_i     = gamma * x_hat + beta         gamma, beta: one per feature

* ``CustomLayerNormAutograd``: an ``nn.Module`` written with tensor operations; autograd derives the backward pass.
* ``CustomLayerNormManualFunction``: a ``torch.autograd.Function`` whose backward pass is derived by hand.
* ``CustomLayerNormManualModule``: the ``nn.Module`` that wraps that Function.

Input and output are (B, C) with C = n_neurons.
"""
import torch
import torch.nn as nn
from torch.autograd.function import once_differentiable

__all__ = ["CustomLayerNormAutograd", "CustomLayerNormManualFunction", "CustomLayerNormManualModule"]


def _check_input(input, n_neurons):
    if input.dim() != 2 or input.shape[1] != n_neurons:
        raise ValueError(f"expected an input of shape (B, {n_neurons}), got {tuple(input.shape)}")


class CustomLayerNormManualFunction(torch.autograd.Function):
    """Layer normalisation with a hand-derived backward pass: ``CustomLayerNormManualFunction.apply(input, gamma,
    beta[, eps])``."""

    @staticmethod
    def forward(ctx, input, gamma, beta, eps=1e-5):
        """input (B, C), gamma (C,), beta (C,) -> (B, C)."""
        _check_input(input, gamma.numel())
        centered = input - input.mean(1, keepdim=True)                       # (B, C)
        inv_std = torch.rsqrt((centered * centered).mean(1, keepdim=True) + eps)  # (B, 1)
        x_hat = centered * inv_std                                           # (B, C)
        ctx.save_for_backward(x_hat, inv_std, gamma)
        return x_hat * gamma + beta

    @staticmethod
    @once_differentiable  # the backward is not itself differentiated: a second derivative is refused, not wrong
    def backward(ctx, grad_output):
        """dL/dout (B, C) -> dL/dinput (B, C), dL/dgamma (C,), dL/dbeta (C,), None for eps."""
        # With g = dout * gamma (the gradient at x_hat) and C features per sample, per row
        #     dx = inv_std / C * (C g - sum(g) - x_hat sum(g x_hat)),
        # the batch norm's formula with the roles of the batch and the features swapped; gamma and beta, shared by
        # every sample, sum their gradients over the batch. (A comment, not the docstring: the student skeleton
        # keeps the docstring.)
        x_hat, inv_std, gamma = ctx.saved_tensors
        need_dx, need_dgamma, need_dbeta = ctx.needs_input_grad[:3]
        dx = dgamma = dbeta = None
        if need_dx:
            g = grad_output * gamma                                          # (B, C)
            features = x_hat.shape[1]
            dx = inv_std / features * (features * g - g.sum(1, keepdim=True)
                                       - x_hat * (g * x_hat).sum(1, keepdim=True))
        if need_dgamma:
            dgamma = (grad_output * x_hat).sum(0)
        if need_dbeta:
            dbeta = grad_output.sum(0)
        return dx, dgamma, dbeta, None


class _LayerNormBase(nn.Module):
    """gamma (ones) and beta (zeros), one per feature, shared by both modules."""

    def __init__(self, n_neurons, eps=1e-5):
        super().__init__()
        self.n_neurons, self.eps = n_neurons, eps
        self.gamma = nn.Parameter(torch.ones(n_neurons))
        self.beta = nn.Parameter(torch.zeros(n_neurons))

    def extra_repr(self):
        return f"{self.n_neurons}, eps={self.eps}"


class CustomLayerNormAutograd(_LayerNormBase):
    """Layer normalisation whose backward pass autograd derives from the forward."""

    def forward(self, input):
        """input (B, n_neurons) -> (B, n_neurons)."""
        _check_input(input, self.n_neurons)
        centered = input - input.mean(1, keepdim=True)
        x_hat = centered * torch.rsqrt((centered * centered).mean(1, keepdim=True) + self.eps)
        return x_hat * self.gamma + self.beta


class CustomLayerNormManualModule(_LayerNormBase):
    """Layer normalisation through ``CustomLayerNormManualFunction``."""

    def forward(self, input):
        """input (B, n_neurons) -> (B, n_neurons)."""
        return CustomLayerNormManualFunction.apply(input, self.gamma, self.beta, self.eps)
