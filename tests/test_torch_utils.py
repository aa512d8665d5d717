"""Shared PyTorch helpers: schedules, augmentation, on-device batches, evaluation, device choice."""
import pytest
import torch

import torch_utils


@pytest.mark.parametrize('schedule,step,expected', [
    ('constant', 0, 1.0), ('constant', 99, 1.0),
    ('step', 49, 1.0), ('step', 50, 0.1), ('step', 75, 0.01),
    ('cosine', 0, 1.0), ('cosine', 50, 0.5), ('cosine', 100, 0.0),
])
def test_schedules_without_warmup(schedule, step, expected):
    assert torch_utils.lr_factor(schedule, step, 100) == pytest.approx(expected)


def test_warmup_then_onecycle():
    factors = [torch_utils.lr_factor('onecycle', step, 110, warmup_steps=10) for step in range(110)]
    assert factors[:3] == pytest.approx([0.1, 0.2, 0.3]) and factors[9] == pytest.approx(1.0)
    assert factors[10] == pytest.approx(1.0) and factors[60] == pytest.approx(0.5, abs=1e-3)
    assert 0 < factors[-1] < 0.01
    assert all(a >= b for a, b in zip(factors[9:], factors[10:]))


def test_scheduler_sets_the_optimizers_learning_rate():
    parameter = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([parameter], lr=0.5)
    scheduler = torch_utils.make_scheduler(optimizer, 'step', total_steps=4)
    rates = []
    for _ in range(4):
        rates.append(optimizer.param_groups[0]['lr'])
        optimizer.step()
        scheduler.step()
    assert rates == pytest.approx([0.5, 0.5, 0.05, 0.005])


def test_augment_returns_padded_crops_or_their_mirror_images():
    torch.manual_seed(0)
    images = torch.randn(64, 3, 8, 8)
    out = torch_utils.augment(images, padding=2)
    assert out.shape == images.shape
    padded = torch.nn.functional.pad(images, (2,) * 4)
    flips = 0
    for image, result in zip(padded, out):
        crops = [image[:, dy:dy + 8, dx:dx + 8] for dy in range(5) for dx in range(5)]
        plain = any(torch.equal(crop, result) for crop in crops)
        mirrored = any(torch.equal(crop.flip(-1), result) for crop in crops)
        assert plain or mirrored
        flips += mirrored and not plain
    assert 16 < flips < 48  # about half are flipped


def test_device_batches_cover_an_epoch_and_keep_pairs():
    images = torch.arange(10.0).view(10, 1)
    batches = torch_utils.DeviceBatches(images, torch.arange(10), batch_size=3, seed=0)
    seen = []
    for _ in range(3):
        x, y = batches.next_batch()
        assert torch.equal(x.view(-1), y.float())
        seen += y.tolist()
    assert len(set(seen)) == 9  # one epoch: 3 full batches, the tenth example dropped
    with pytest.raises(ValueError, match='batch_size'):
        torch_utils.DeviceBatches(images, torch.arange(10), batch_size=11, seed=0)


def test_evaluate_computes_loss_and_accuracy_in_eval_mode():
    model = torch.nn.Sequential(torch.nn.Dropout(0.9), torch.nn.Identity())
    logits = torch.tensor([[2.0, 0.0], [0.0, 2.0], [2.0, 0.0]])
    labels = torch.tensor([0, 1, 1])
    loss, accuracy = torch_utils.evaluate(model, logits, labels, batch_size=2)
    assert accuracy == pytest.approx(2 / 3)
    assert loss == pytest.approx(torch.nn.functional.cross_entropy(logits, labels).item())
    assert model.training  # restored afterwards


def test_auto_device_is_the_cpu_without_a_gpu():
    expected = 'cuda' if torch.cuda.is_available() else 'cpu'
    assert torch_utils.resolve_device('auto').type == expected
