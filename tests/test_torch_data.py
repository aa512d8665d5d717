"""Shared PyTorch helpers: schedules, augmentation, on-device batches, evaluation, device choice."""
import math

import numpy as np
import pytest
import torch

from runkit import optimisers, torch_data


@pytest.mark.parametrize('schedule,step,expected', [
    ('constant', 0, 1.0), ('constant', 99, 1.0),
    ('step', 49, 1.0), ('step', 50, 0.1), ('step', 75, 0.01),
    ('cosine', 0, 1.0), ('cosine', 50, 0.5), ('cosine', 100, 0.0),
])
def test_schedules_without_warmup(schedule, step, expected):
    assert optimisers.lr_factor(schedule, step, 100) == pytest.approx(expected)


def test_warmup_then_onecycle():
    factors = [optimisers.lr_factor('onecycle', step, 110, warmup_steps=10) for step in range(110)]
    assert factors[:3] == pytest.approx([0.1, 0.2, 0.3]) and factors[9] == pytest.approx(1.0)
    assert factors[10] == pytest.approx(1.0) and factors[60] == pytest.approx(0.5, abs=1e-3)
    assert 0 < factors[-1] < 0.01
    assert all(a >= b for a, b in zip(factors[9:], factors[10:]))


def test_scheduler_sets_the_optimizers_learning_rate():
    parameter = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([parameter], lr=0.5)
    scheduler = optimisers.make_scheduler(optimizer, 'step', total_steps=4)
    rates = []
    for _ in range(4):
        rates.append(optimizer.param_groups[0]['lr'])
        optimizer.step()
        scheduler.step()
    assert rates == pytest.approx([0.5, 0.5, 0.05, 0.005])


def shifts_and_mirrors(images, out, padding=4):
    """For every pair of image and output, the (dy, dx, mirrored) for which the output is the image shifted by
    (dy, dx) pixels in the zero-padded frame, mirrored left to right if so: a list of such triples per image."""
    height, width = images.shape[-2:]
    crops = torch.nn.functional.pad(images, (padding,) * 4).unfold(2, height, 1).unfold(3, width, 1)
    target = out[:, :, None, None]  # (B, C, 1, 1, H, W) against crops (B, C, 2p + 1, 2p + 1, H, W)
    found = torch.stack([(crops == target).all(dim=(1, 4, 5)), (crops.flip(-1) == target).all(dim=(1, 4, 5))], -1)
    matches = [[] for _ in images]
    for index, dy, dx, mirrored in found.nonzero().tolist():
        matches[index].append((dy - padding, dx - padding, bool(mirrored)))
    return matches


def test_augment_shifts_by_up_to_4_pixels_with_zero_padding_and_mirrors_and_does_nothing_else():
    torch.manual_seed(0)
    images = torch.randn(400, 3, 8, 8, dtype=torch.float64)
    matches = shifts_and_mirrors(images, torch_data.augment(images))
    assert all(len(found) == 1 for found in matches)  # a shifted copy, or its mirror image, and nothing else
    dy, dx, mirrored = zip(*(found[0] for found in matches))
    assert set(dy) == set(dx) == set(range(-4, 5))  # every shift up to 4 pixels, both ways, on both axes
    assert sum(y == x == 0 for y, x in zip(dy, dx)) < 20  # about 1 in 81 is not shifted
    assert 160 < sum(mirrored) < 240  # about half are mirrored


def test_device_batches_cover_an_epoch_and_keep_pairs():
    images = torch.arange(10.0).view(10, 1)
    batches = torch_data.DeviceBatches(images, torch.arange(10), batch_size=3, seed=0)
    seen = []
    for _ in range(3):
        x, y = batches.next_batch()
        assert torch.equal(x.view(-1), y.float())
        seen += y.tolist()
    assert len(set(seen)) == 9  # one epoch: 3 full batches, the tenth example dropped
    with pytest.raises(ValueError, match='batch_size'):
        torch_data.DeviceBatches(images, torch.arange(10), batch_size=11, seed=0)


def test_evaluate_computes_loss_and_accuracy_in_eval_mode():
    model = torch.nn.Sequential(torch.nn.Dropout(0.9), torch.nn.Identity())
    logits = torch.tensor([[2.0, 0.0], [0.0, 2.0], [2.0, 0.0]])
    labels = torch.tensor([0, 1, 1])
    loss, accuracy = torch_data.evaluate(model, logits, labels, batch_size=2)
    assert accuracy == pytest.approx(2 / 3)
    # -log softmax of the label's logit: log(1 + e^-2) for the two right answers, log(1 + e^2) for the wrong one
    assert loss == pytest.approx((2 * math.log(1 + math.exp(-2)) + math.log(1 + math.exp(2))) / 3)
    assert model.training  # restored afterwards


@pytest.mark.parametrize('gpu,name,expected', [(False, 'auto', 'cpu'), (True, 'auto', 'cuda'), (False, 'cpu', 'cpu'),
                                               (True, 'cpu', 'cpu'), (True, 'cuda', 'cuda')])
def test_device_choice(monkeypatch, gpu, name, expected):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: gpu)
    assert torch_data.resolve_device(name) == torch.device(expected)


def test_cuda_without_a_gpu_ends_in_one_line(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    with pytest.raises(SystemExit, match='^error: --device cuda was asked for, but PyTorch sees no GPU here$'):
        torch_data.resolve_device('cuda')


def test_predict_with_mirror_averages_the_probabilities_of_each_image_and_its_mirror():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(2 * 3 * 4, 5)).double()
    x = torch.randn(3, 2, 3, 4, dtype=torch.float64)
    weight, bias = (p.detach().numpy() for p in model[1].parameters())

    def probabilities(images):
        scores = images.reshape(len(images), -1) @ weight.T + bias
        exp = np.exp(scores - scores.max(axis=1, keepdims=True))
        return exp / exp.sum(axis=1, keepdims=True)

    images = x.numpy()
    expected = (probabilities(images) + probabilities(images[..., ::-1])) / 2
    averaged = torch_data.predict(model, x, mirror=True).detach().exp().numpy()  # predict answers in float32
    assert np.allclose(averaged, expected, rtol=1e-6, atol=0)
    assert not np.allclose(probabilities(images), expected)  # the mirror changes this model's answer
    assert torch.equal(torch_data.predict(model, x), model(x).float())


@pytest.mark.parametrize('dy,dx', [(1, 1), (-1, -1), (2, -3), (0, 4)])
def test_translate_moves_the_image_with_zeros_filling_in(dy, dx):
    torch.manual_seed(0)
    images = torch.randn(4, 3, 8, 8, dtype=torch.float64)
    moved = torch_data.translate(images, dy, dx)
    assert shifts_and_mirrors(images, moved) == [[(-dy, -dx, False)]] * 4  # the crop (-dy, -dx) of augment's frame
    assert moved.shape == images.shape


def test_views_are_the_image_its_diagonal_shifts_and_their_mirrors():
    x = torch.randn(2, 3, 5, 5)
    shifted = [torch_data.translate(x, 2, 2), torch_data.translate(x, -2, -2)]
    for mirror, shift, expected in ((False, 0, [x]), (True, 0, [x, x.flip(3)]), (False, 2, [x, *shifted]),
                                    (True, 2, [x, *shifted, x.flip(3), *(view.flip(3) for view in shifted)])):
        got = torch_data.views(x, mirror, shift)
        assert len(got) == len(expected) and all(torch.equal(a, b) for a, b in zip(got, expected))


def test_predict_with_shift_averages_the_probabilities_of_every_view():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(2 * 4 * 4, 5)).double()
    x = torch.randn(3, 2, 4, 4, dtype=torch.float64)
    probabilities = [model(view).softmax(dim=1) for view in torch_data.views(x, mirror=True, shift=1)]
    expected = torch.stack(probabilities).mean(dim=0)
    assert torch.allclose(torch_data.predict(model, x, mirror=True, shift=1).exp().double(), expected, rtol=1e-6)
    assert not torch.allclose(torch_data.predict(model, x, mirror=True).exp().double(), expected, rtol=1e-3)
