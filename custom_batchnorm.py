"""Batch normalisation written by hand in PyTorch.

Batch normalisation (Ioffe & Szegedy, 2015) normalises every neuron (or
every channel of a feature map) with the mean and variance over the batch,
then lets the network rescale and shift the result:

    mu      = mean(x)                      over the M values of one neuron
    var     = mean((x - mu) ** 2)          biased: no Bessel correction
    x_hat   = (x - mu) / sqrt(var + eps)
    y       = gamma * x_hat + beta

For an input of shape (B, C) the M = B values of a neuron are its values
across the batch; for an input of shape (N, C, H, W) they are the
M = N * H * W values of a channel across the batch and the spatial positions,
as in ``nn.BatchNorm2d``.

Three implementations of the same layer:

* ``CustomBatchNormAutograd``: an ``nn.Module`` whose forward pass is written
  with tensor operations; autograd derives the backward pass.
* ``CustomBatchNormManualFunction``: a ``torch.autograd.Function`` whose
  backward pass is derived by hand.
* ``CustomBatchNormManualModule``: the ``nn.Module`` that wraps that Function.

Both modules also keep running estimates of the mean and the (unbiased)
variance, like ``nn.BatchNorm1d``, and use them in ``eval()`` mode, so that a
trained network can classify a single sample.
"""

import math

import torch
import torch.nn as nn

__all__ = [
    "CustomBatchNormAutograd",
    "CustomBatchNormManualFunction",
    "CustomBatchNormManualModule",
]


def _stat_dims(input, n_neurons, batch_stats):
    """Check the shape of ``input`` and return the dimensions to normalise over.

    Args:
        input: tensor of shape (B, C) or (N, C, H, W).
        n_neurons: the number of neurons / channels C the layer expects.
        batch_stats: whether the statistics will come from this batch, which
            needs more than one value per neuron.

    Returns:
        (0,) for a (B, C) input, (0, 2, 3) for an (N, C, H, W) input.

    Raises:
        ValueError: if the shape does not match, or if batch statistics are
            asked for with a single value per neuron.
    """
    shape = tuple(input.shape)
    if len(shape) == 2:
        dims = (0,)
    elif len(shape) == 4:
        dims = (0, 2, 3)
    else:
        raise ValueError(
            f"expected an input of shape (B, {n_neurons}) or "
            f"(N, {n_neurons}, H, W), got {len(shape)}-D input of shape {shape}"
        )
    if shape[1] != n_neurons:
        expected = f"(B, {n_neurons})" if len(shape) == 2 else f"(N, {n_neurons}, H, W)"
        raise ValueError(f"expected an input of shape {expected}, got {shape}")
    if batch_stats and math.prod(shape) // n_neurons < 2:
        raise ValueError(
            f"batch normalisation in training mode needs more than one value "
            f"per neuron to estimate the variance, got an input of shape {shape}; "
            f"use eval() to normalise a single sample with the running statistics"
        )
    return dims


def _per_neuron(t, ndim):
    """View a (C,) tensor as (1, C) or (1, C, 1, 1) so it broadcasts over the input."""
    return t.view((1, -1) + (1,) * (ndim - 2))


@torch.no_grad()
def _update_running_stats(running_mean, running_var, mean, var, m, momentum):
    """Blend batch statistics into the running estimates, in place.

    Args:
        running_mean, running_var: buffers of shape (C,).
        mean, var: batch mean and biased batch variance, C elements in any shape.
        m: number of values each statistic was computed from.
        momentum: weight of the new batch, as in ``nn.BatchNorm1d``.
    """
    running_mean.lerp_(mean.reshape(-1), momentum)
    # The running variance estimates the population variance, so it takes the
    # unbiased batch variance, as nn.BatchNorm1d does.
    running_var.lerp_(var.reshape(-1) * (m / (m - 1)), momentum)


class CustomBatchNormManualFunction(torch.autograd.Function):
    """Batch normalisation with a hand-derived backward pass.

    Call it as ``CustomBatchNormManualFunction.apply(input, gamma, beta)``
    (optionally followed by ``eps, running_mean, running_var, momentum``).
    Statistics always come from the batch; given running buffers, the forward
    pass also blends the batch statistics into them, like
    ``F.batch_norm(..., training=True)``.
    """

    @staticmethod
    def forward(ctx, input, gamma, beta, eps=1e-5,
                running_mean=None, running_var=None, momentum=0.1):
        """Normalise ``input`` with its batch statistics, then scale and shift.

        Args:
            ctx: context to stash what the backward pass needs.
            input: tensor of shape (B, C) or (N, C, H, W).
            gamma: scale, shape (C,).
            beta: shift, shape (C,).
            eps: added to the variance inside the square root.
            running_mean, running_var: optional buffers of shape (C,), updated
                in place.
            momentum: weight of this batch in the running estimates.

        Returns:
            out: tensor of the same shape as ``input``.
        """
        dims = _stat_dims(input, gamma.numel(), batch_stats=True)
        # Two passes (mean, then mean square of the centred input): on the CPU
        # this beats torch.var_mean's single-pass reduction over the batch
        # several times. Full-size temporaries cost about as much as the
        # arithmetic, so only the two tensors kept are allocated, and out
        # holds the squared deviations first.
        mean = input.mean(dims, keepdim=True)                   # (1, C[, 1, 1])
        x_hat = input - mean                                    # like input
        out = x_hat * x_hat                                     # like input
        var = out.mean(dims, keepdim=True)                      # biased
        inv_std = torch.rsqrt(var + eps)                        # (1, C[, 1, 1])
        x_hat.mul_(inv_std)
        gamma_ = _per_neuron(gamma, input.dim())
        torch.mul(x_hat, gamma_, out=out).add_(_per_neuron(beta, input.dim()))

        # The backward pass is written in terms of x_hat and inv_std alone, so
        # the input itself is not kept alive; gamma is only needed for dx.
        ctx.save_for_backward(x_hat, inv_std, gamma_)
        ctx.dims = dims

        if running_mean is not None:
            m = input.numel() // input.shape[1]
            _update_running_stats(running_mean, running_var, mean, var, m, momentum)
        return out

    @staticmethod
    def backward(ctx, grad_output):
        """Gradients of the loss with respect to input, gamma and beta.

        Args:
            ctx: the context filled by ``forward``.
            grad_output: dL/dout, same shape as the input.

        Returns:
            dL/dinput (like the input), dL/dgamma (C,), dL/dbeta (C,), or None
            for each one not needed; None for eps and the running-stat args.
        """
        x_hat, inv_std, gamma_ = ctx.saved_tensors
        need_dx, need_dgamma, need_dbeta = ctx.needs_input_grad[:3]
        dims = ctx.dims
        dx = dgamma = dbeta = None

        if need_dx or need_dbeta:
            sum_dout = grad_output.sum(dims, keepdim=True)                  # (1, C[, 1, 1])
        if need_dx or need_dgamma:
            dout_xhat = grad_output * x_hat
            sum_dout_xhat = dout_xhat.sum(dims, keepdim=True)               # (1, C[, 1, 1])
        if need_dx:
            # dx = (inv_std / M) * (M*g - sum(g) - x_hat * sum(g * x_hat)) with
            # g = dout * gamma. gamma is constant per neuron, so g's sums are
            # gamma times the sums dbeta and dgamma need anyway, and with
            # k = gamma * inv_std / M:
            #     dx = k*M * dout - k * sum(dout) - k * sum(dout * x_hat) * x_hat,
            # computed in dout_xhat's buffer, which is free now.
            m = x_hat.numel() // x_hat.shape[1]
            k = gamma_ * inv_std / m                                        # (1, C[, 1, 1])
            dx = torch.mul(grad_output, k * m, out=dout_xhat)
            dx.addcmul_(x_hat, k * sum_dout_xhat, value=-1).sub_(k * sum_dout)
        if need_dgamma:
            dgamma = sum_dout_xhat.view(-1)
        if need_dbeta:
            dbeta = sum_dout.view(-1)
        return dx, dgamma, dbeta, None, None, None, None


class _BatchNormBase(nn.Module):
    """Parameters, running statistics and eval-mode forward shared by both modules.

    Args:
        n_neurons: number of neurons C (features of a (B, C) input, or
            channels of an (N, C, H, W) input).
        eps: added to the variance inside the square root.
        momentum: weight of each new batch in the running estimates.
    """

    def __init__(self, n_neurons, eps=1e-5, momentum=0.1):
        super().__init__()
        self.n_neurons = n_neurons
        self.eps = eps
        self.momentum = momentum
        self.gamma = nn.Parameter(torch.ones(n_neurons))
        self.beta = nn.Parameter(torch.zeros(n_neurons))
        self.register_buffer("running_mean", torch.zeros(n_neurons))
        self.register_buffer("running_var", torch.ones(n_neurons))

    def forward(self, input):
        """Normalise ``input`` of shape (B, C) or (N, C, H, W); same shape out.

        Training mode uses the batch statistics and updates the running ones;
        eval mode uses the running statistics, so any batch size works.
        """
        if self.training:
            return self._forward_train(input)
        _stat_dims(input, self.n_neurons, batch_stats=False)
        # The running statistics are constants, so the layer is an affine map
        # per neuron; autograd differentiates it if anyone asks.
        scale = self.gamma * torch.rsqrt(self.running_var + self.eps)  # (C,)
        shift = self.beta - self.running_mean * scale                  # (C,)
        return (input * _per_neuron(scale, input.dim())).add_(_per_neuron(shift, input.dim()))

    def _forward_train(self, input):
        """Normalise with the batch statistics and update the running ones."""
        raise NotImplementedError

    def extra_repr(self):
        return f"{self.n_neurons}, eps={self.eps}, momentum={self.momentum}"


class CustomBatchNormAutograd(_BatchNormBase):
    """Batch normalisation whose backward pass autograd derives from the forward.

    Args:
        n_neurons: number of neurons C.
        eps: added to the variance inside the square root.
        momentum: weight of each new batch in the running estimates.
    """

    def _forward_train(self, input):
        dims = _stat_dims(input, self.n_neurons, batch_stats=True)
        mean = input.mean(dims, keepdim=True)                   # (1, C[, 1, 1])
        centered = input - mean
        var = (centered * centered).mean(dims, keepdim=True)    # biased
        x_hat = centered * torch.rsqrt(var + self.eps)
        out = _per_neuron(self.gamma, input.dim()) * x_hat + _per_neuron(self.beta, input.dim())
        m = input.numel() // input.shape[1]
        _update_running_stats(self.running_mean, self.running_var, mean, var, m, self.momentum)
        return out


class CustomBatchNormManualModule(_BatchNormBase):
    """Batch normalisation through ``CustomBatchNormManualFunction``.

    Args:
        n_neurons: number of neurons C.
        eps: added to the variance inside the square root.
        momentum: weight of each new batch in the running estimates.
    """

    def _forward_train(self, input):
        # The Function checks the shape and updates the running statistics.
        return CustomBatchNormManualFunction.apply(
            input, self.gamma, self.beta, self.eps,
            self.running_mean, self.running_var, self.momentum)
